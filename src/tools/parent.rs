//! A parent is a card of the same project. A key names its project, so a parent in
//! another one is refused here with that reason, before Tasker is asked (Tasker only
//! says "not a card of this project", which leaves a model guessing).

use crate::calls::ToolError;

/// Refuses a parent key of another project than `project` (an identifier such as
/// `WEB`). Ids and keys of the same project pass: Tasker checks them.
pub fn same_project(project: Option<&str>, parent: &str) -> Result<(), ToolError> {
    let (Some(project), Some((prefix, number))) = (project, parent.trim().rsplit_once('-')) else {
        return Ok(());
    };
    let is_key = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && !prefix.contains('-');
    if !is_key || prefix.eq_ignore_ascii_case(project) {
        return Ok(());
    }
    Err(ToolError::invalid(format!(
        "The parent `{}` is a card of project {}, and this card is in {project}: a parent must be a card of the same project. Leave `parent` out, or name a {project} card (search_issues finds them).",
        parent.trim(),
        prefix.to_ascii_uppercase()
    )))
}

#[cfg(test)]
mod tests {
    use super::same_project;

    #[test]
    fn only_a_key_of_another_project_is_refused() {
        assert!(same_project(Some("WEB"), "WEB-3").is_ok());
        assert!(same_project(Some("WEB"), "web-3").is_ok());
        assert!(same_project(Some("WEB"), "7a5c0003-0000-4000-8000-000000000001").is_ok());
        assert!(same_project(None, "OPS-1").is_ok());
        let e = same_project(Some("WEB"), "OPS-1").unwrap_err();
        assert!(e.message.contains("project OPS") && e.message.contains("same project"), "{}", e.message);
    }
}
