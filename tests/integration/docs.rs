//! The docs describe what exists: every tool is in the tools contract with its scope
//! and REST route.

use nodedc_agent_gateway::tools;

#[test]
fn the_tools_contract_names_every_tool_with_its_scope() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/MCP_TOOLS_CONTRACT.md")).unwrap();
    for t in tools::catalogue() {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", t.name)))
            .unwrap_or_else(|| panic!("{} has no row in the tools table", t.name));
        assert!(row.contains(&format!("`{}`", t.scope)), "{}: scope {} not in `{row}`", t.name, t.scope);
        let named = format!("`{}`", t.name);
        assert!(doc.lines().any(|l| l.starts_with("### ") && l.contains(&named)), "{} has no section", t.name);
    }
    let rows = doc.lines().filter(|l| l.starts_with("| `") && l.contains("/api/v1/")).count();
    assert_eq!(rows, tools::catalogue().len(), "the table lists exactly the tools that exist");
}
