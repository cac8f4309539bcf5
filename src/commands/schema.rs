use std::process::ExitCode;

use super::{Outcome, PASSED, out};
use crate::policy::Policy;

/// `schema`: the JSON Schema of policy files, for editors.
pub fn run() -> Outcome {
    out(&schema_text());
    Ok(ExitCode::from(PASSED))
}

pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&Policy::json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
