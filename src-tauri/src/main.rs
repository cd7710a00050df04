//! The `oktell-panel` binary: everything is in the library so tests can drive the same code.

fn main() -> std::process::ExitCode {
    oktell_panel::main()
}
