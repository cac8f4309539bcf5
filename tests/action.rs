//! action.yml: inputs reach scripts only through `env:`, and the scripts parse.

use serde_json::Value;

fn action() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn inputs_are_the_documented_ones() {
    let action = action();
    let inputs: Vec<&str> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for name in ["policy", "format", "args", "token", "version"] {
        assert!(inputs.contains(&name), "input `{name}` missing: {inputs:?}");
    }
    assert_eq!(action["inputs"]["token"]["default"], "${{ github.token }}");
    assert_eq!(action["runs"]["using"], "composite");
}

#[test]
fn scripts_never_expand_expressions_and_are_valid_bash() {
    for step in action()["runs"]["steps"].as_array().unwrap() {
        let script = step["run"].as_str().unwrap();
        assert!(
            !script.contains("${{"),
            "step `{}` expands an expression inside its script",
            step["name"]
        );
        let status = std::process::Command::new("bash")
            .args(["-n", "-c", script])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "step `{}` is not valid bash",
            step["name"]
        );
    }
}
