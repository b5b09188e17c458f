//! Compile-fail tests for the inline macros (`#[protocall::service]`,
//! `#[derive(protocall::Message)]`, `#[derive(protocall::Enumeration)]`):
//! each `tests/ui/*.rs` must fail to compile with the error in its
//! checked-in `.stderr`, pointing at the offending span. Regenerate after a
//! deliberate wording change with `TRYBUILD=overwrite cargo test -p
//! protocall-tests --test macro_ui`, then review every `.stderr`.

#[test]
fn macro_errors() {
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}
