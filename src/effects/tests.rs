//! Who the audit names: the given operator, else the user, else the login
//! name of the uid.

use super::*;

#[test]
fn the_login_name_is_the_password_databases() {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id runs");
    let want = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(login_name().as_deref(), Some(want.as_str()));
}

#[test]
fn a_given_operator_wins_and_is_sanitised() {
    assert_eq!(resolve_operator(Some(" alice@oncall ")), "alice@oncall");
    let hostile = resolve_operator(Some("mallory\u{1b}[2J\nroot"));
    assert!(!hostile.chars().any(char::is_control), "{hostile:?}");
    assert_eq!(resolve_operator(Some("  ")), operator(), "blank: not given");
    assert!(operator().contains('@'));
}
