-- Who a change was made on behalf of, apart from the actor, so an agent's name
-- cannot pass for another owner.
ALTER TABLE tasker_activity ADD COLUMN on_behalf_of TEXT;
