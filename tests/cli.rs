//! The command line: exit codes, formats and messages for good and bad input.

use crate::support::portcullis;

#[test]
fn check_passes_on_the_examples() {
    for example in ["examples/web.pcl"] {
        portcullis(None, &["check", example]).code(0);
    }
}
