//! The report: one line per rule for people, or JSON for scripts and tests.

use serde_json::{Value, json};
use uuid::Uuid;

use super::TITLE_PREFIX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// What was expected and what came back.
    Fail(String),
    /// Why the rule could not run against this Tasker.
    Skip(String),
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Skip(_) => "skip",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(r) | Outcome::Skip(r) => Some(r),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RuleResult {
    pub id: &'static str,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub tasker: String,
    pub project: Uuid,
    /// The run's id, in the title of every card it created.
    pub run: String,
    pub results: Vec<RuleResult>,
}

impl Report {
    fn count(&self, outcome: &str) -> usize {
        self.results.iter().filter(|r| r.outcome.as_str() == outcome).count()
    }

    pub fn passed(&self) -> usize {
        self.count("pass")
    }

    pub fn failed(&self) -> usize {
        self.count("fail")
    }

    pub fn skipped(&self) -> usize {
        self.count("skip")
    }

    /// The ids of the rules that failed, in order.
    pub fn failures(&self) -> Vec<&'static str> {
        self.results.iter().filter(|r| matches!(r.outcome, Outcome::Fail(_))).map(|r| r.id).collect()
    }

    pub fn to_text(&self) -> String {
        let width = self.results.iter().map(|r| r.id.len()).max().unwrap_or(0);
        let mut out = format!(
            "tasker-check of {} in project {} (cards titled \"{TITLE_PREFIX} {}\")\n",
            self.tasker, self.project, self.run
        );
        for r in &self.results {
            let mark = r.outcome.as_str().to_uppercase();
            match r.outcome.reason() {
                Some(reason) => out.push_str(&format!("{mark:<4}  {:<width$}  {reason}\n", r.id)),
                None => out.push_str(&format!("{mark:<4}  {}\n", r.id)),
            }
        }
        out.push_str(&format!("{} passed, {} failed, {} skipped\n", self.passed(), self.failed(), self.skipped()));
        out
    }

    pub fn to_json(&self) -> Value {
        let rules: Vec<Value> = self
            .results
            .iter()
            .map(|r| match r.outcome.reason() {
                Some(reason) => json!({ "id": r.id, "outcome": r.outcome.as_str(), "reason": reason }),
                None => json!({ "id": r.id, "outcome": r.outcome.as_str() }),
            })
            .collect();
        json!({
            "tasker": self.tasker,
            "project": self.project,
            "run": self.run,
            "card_title_prefix": format!("{TITLE_PREFIX} {}", self.run),
            "rules": rules,
            "passed": self.passed(),
            "failed": self.failed(),
            "skipped": self.skipped(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_report_has_one_line_per_rule_and_a_summary() {
        let report = Report {
            tasker: "http://tasker.test".into(),
            project: Uuid::nil(),
            run: "0123abcd".into(),
            results: vec![
                RuleResult { id: "a.rule", outcome: Outcome::Pass },
                RuleResult { id: "b", outcome: Outcome::Fail("expected 405, got 200".into()) },
                RuleResult { id: "c", outcome: Outcome::Skip("no labels".into()) },
            ],
        };
        let text = report.to_text();
        assert!(text.contains("PASS  a.rule\n"), "{text}");
        assert!(text.contains("FAIL  b       expected 405, got 200\n"), "{text}");
        assert!(text.ends_with("1 passed, 1 failed, 1 skipped\n"), "{text}");
        assert_eq!(report.failures(), ["b"]);
        let json = report.to_json();
        assert_eq!(json["rules"][1]["reason"], "expected 405, got 200");
        assert_eq!(json["rules"][0].get("reason"), None);
        assert_eq!((json["passed"].as_u64(), json["failed"].as_u64()), (Some(1), Some(1)));
    }
}
