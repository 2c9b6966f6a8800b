ALTER TABLE tasker_activity DROP COLUMN on_behalf_of;
