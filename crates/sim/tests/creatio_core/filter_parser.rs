//! `$filter` parsing: what the client and Creatio's UI send parses; malformed filters are errors
//! with a position, never panics.

use sim::creatio::filter::{CmpOp, Expr, Func, Value, parse};
use sim::creatio::schema::Kind;

fn path(p: &str) -> Expr {
    Expr::Path(p.split('/').map(str::to_owned).collect())
}

#[test]
fn client_identification_filter_parses_with_precedence() {
    let expr = parse(
        "startswith(SearchNumber,'7654321') and (CommunicationType/Id eq d4a2dc80-30ca-df11-9b2a-001d60e938c6 \
         or CommunicationType/Id eq 3dddb3cc-53ee-49c4-a71f-e9e257f59e49)",
    )
    .unwrap();
    let Expr::And(left, right) = expr else {
        panic!("and at the top: {expr:?}")
    };
    assert_eq!(
        *left,
        Expr::Call(
            Func::StartsWith,
            vec![path("SearchNumber"), Expr::Literal(Value::Text("7654321".into()))]
        )
    );
    assert!(matches!(*right, Expr::Or(..)), "{right:?}");
}

#[test]
fn and_binds_tighter_than_or_and_not_applies_to_one_term() {
    let expr = parse("Name eq 'a' or Name eq 'b' and not Primary").unwrap();
    let Expr::Or(_, right) = expr else {
        panic!("or at the top")
    };
    let Expr::And(_, not) = *right else {
        panic!("and on the right")
    };
    assert_eq!(*not, Expr::Not(Box::new(path("Primary"))));
}

#[test]
fn literals_of_every_kind() {
    let cases = [
        ("Name eq 'O''Brien'", Value::Text("O'Brien".into())),
        ("Duration ge -5", Value::Int(-5)),
        ("Primary eq true", Value::Bool(true)),
        ("ContactId eq null", Value::Null),
    ];
    for (text, literal) in cases {
        let Expr::Compare(_, _, right) = parse(text).unwrap() else {
            panic!("{text}")
        };
        assert_eq!(*right, Expr::Literal(literal), "{text}");
    }
    let Expr::Compare(CmpOp::Lt, _, right) = parse("StartDate lt 2026-11-23T10:00:00Z").unwrap() else {
        panic!("lt")
    };
    assert!(matches!(*right, Expr::Literal(Value::DateTime(_))));
    let Expr::Compare(CmpOp::Eq, _, right) = parse("Id eq c072be2c-3d82-4468-9d4a-6db47d1f4cca").unwrap() else {
        panic!("eq")
    };
    assert!(matches!(*right, Expr::Literal(Value::Guid(_))));
}

#[test]
fn malformed_filters_are_errors_not_panics() {
    for bad in [
        "",
        "Name eq",
        "Name eq 'unterminated",
        "(Name eq 'a'",
        "Name eq 'a')",
        "startswith(Name)",
        "startswith(Name,'a'",
        "frobnicate(Name,'a')",
        "Id eq guid'c072be2c-3d82-4468-9d4a-6db47d1f4cca'",
        "Contact/ eq 'a'",
        "Name eq 'a' and",
        "Duration eq 1.5",
        "Duration eq 99999999999999999999999",
        "Name § 'a'",
        ",",
    ] {
        let error = parse(bad).unwrap_err();
        assert!(!error.message.is_empty(), "{bad}");
        assert!(error.position <= bad.len(), "{bad}: {error:?}");
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let deep = format!("{}Name eq 'a'{}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&deep).is_err());
    let nots = format!("{}Primary", "not ".repeat(5000));
    assert!(parse(&nots).is_err());
    let chain = vec!["Name eq 'a'"; 5000].join(" or ");
    assert!(parse(&chain).is_err(), "a chain this long would build a tree this deep");
    let fair = vec!["Name eq 'a'"; 100].join(" or ");
    assert!(parse(&fair).is_ok());
}

#[test]
fn type_check_refuses_quoted_guids_and_mismatches() {
    let kinds = |p: &[String]| -> Result<Kind, String> {
        match p.join("/").as_str() {
            "Id" | "Contact/Id" => Ok(Kind::Guid),
            "Name" => Ok(Kind::Text),
            "Duration" => Ok(Kind::Int),
            "Primary" => Ok(Kind::Bool),
            other => Err(format!("no {other}")),
        }
    };
    for good in [
        "Contact/Id eq c072be2c-3d82-4468-9d4a-6db47d1f4cca",
        "contains(tolower(Name),'ив') or Duration gt 3",
        "Primary",
        "Id ne null",
    ] {
        parse(good)
            .unwrap()
            .check(&kinds)
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "Id eq 'c072be2c-3d82-4468-9d4a-6db47d1f4cca'",
        "Name eq 5",
        "Duration",
        "Primary gt false",
        "startswith(Duration,'1')",
        "Nope eq 'a'",
        "Name",
    ] {
        assert!(parse(bad).unwrap().check(&kinds).is_err(), "{bad}");
    }
}
