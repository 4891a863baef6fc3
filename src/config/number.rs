//! Positive numbers in a manifest (rates, sizes, limits), read from the JSON value as
//! written so that an error can say exactly what is wrong with it: zero, negative, a
//! fraction, a string, or more than makes sense. Pure.

use serde_json::Value;

/// A whole number from 1 to `max`; `unit` names what it counts (`requests per minute`).
pub fn whole(value: &Value, max: u64, unit: &str) -> Result<u64, String> {
    let wanted = || format!("expected a whole number of {unit} from 1 to {max}");
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(0) => Err(format!("{}, found 0", wanted())),
            Some(v) if v > max => Err(format!("{}, found {v}", wanted())),
            Some(v) => Ok(v),
            None if n.as_i64().is_some_and(|v| v < 0) => {
                Err(format!("{}, found the negative number {n}", wanted()))
            }
            None => Err(format!("{}, found {n}", wanted())),
        },
        other => Err(format!("{}, found {}", wanted(), shown(other))),
    }
}

/// A number above 0 and at most `max`, with at most three decimals (`1.5` CPUs), as
/// thousandths.
pub fn thousandths(value: &Value, max: u64, unit: &str) -> Result<u64, String> {
    let wanted = || format!("expected a number of {unit} above 0 and at most {max}");
    let Value::Number(n) = value else {
        return Err(format!("{}, found {}", wanted(), shown(value)));
    };
    let Some(v) = n.as_f64() else {
        return Err(format!("{}, found {n}", wanted()));
    };
    if v <= 0.0 || v > max as f64 {
        return Err(format!("{}, found {n}", wanted()));
    }
    let milli = (v * 1000.0).round();
    if (milli - v * 1000.0).abs() > 1e-6 {
        return Err(format!(
            "{}, found {n}: at most three decimals, like 1.5",
            wanted()
        ));
    }
    Ok(milli as u64)
}

/// `1500` thousandths as `1.5`.
pub fn thousandths_text(milli: u64) -> String {
    let text = format!("{}.{:03}", milli / 1000, milli % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {s:?} (write the number without quotes)"),
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        Value::Number(n) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_numbers_say_what_is_wrong() {
        assert_eq!(whole(&json!(600), 1000, "requests"), Ok(600));
        for (bad, says) in [
            (json!(0), "found 0"),
            (json!(-5), "negative number -5"),
            (json!(1.5), "found 1.5"),
            (json!("10"), "the string \"10\""),
            (json!(null), "found null"),
            (json!(1001), "found 1001"),
        ] {
            let e = whole(&bad, 1000, "requests").unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(e.contains("from 1 to 1000"), "{e}");
        }
    }

    #[test]
    fn thousandths_take_decimals_within_range() {
        assert_eq!(thousandths(&json!(1.5), 64, "CPUs"), Ok(1500));
        assert_eq!(thousandths(&json!(2), 64, "CPUs"), Ok(2000));
        assert_eq!(thousandths_text(1500), "1.5");
        assert_eq!(thousandths_text(2000), "2");
        assert_eq!(thousandths_text(250), "0.25");
        for bad in [json!(0), json!(-1), json!(65), json!(0.0001), json!("2")] {
            assert!(thousandths(&bad, 64, "CPUs").is_err(), "{bad}");
        }
    }
}
