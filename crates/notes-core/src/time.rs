//! The one JSON form of every timestamp: RFC 3339 in UTC with exactly six
//! fractional digits, such as `2026-12-04T21:02:36.120000Z`.
//!
//! chrono's default writes 0, 3, 6 or 9 digits depending on the value, so two
//! times in one millisecond could sort wrongly as text. A fixed width keeps
//! text order equal to time order. Reading accepts any RFC 3339 time.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Writes a time as RFC 3339 with microseconds and `Z`.
pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Reads any RFC 3339 time and converts it to UTC.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(deserializer)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Stamp(#[serde(with = "super")] chrono::DateTime<chrono::Utc>);

    #[test]
    fn always_six_fraction_digits() {
        let whole = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(serde_json::to_string(&Stamp(whole)).unwrap(), r#""2026-01-02T03:04:05.000000Z""#);

        let micros = chrono::DateTime::from_timestamp_micros(1_700_000_000_000_100).unwrap();
        assert_eq!(serde_json::to_string(&Stamp(micros)).unwrap(), r#""2023-11-14T22:13:20.000100Z""#);
    }

    #[test]
    fn reads_other_forms() {
        let parsed: Stamp = serde_json::from_str(r#""2026-01-02T04:04:05.5+01:00""#).unwrap();
        assert_eq!(parsed.0.to_rfc3339(), "2026-01-02T03:04:05.500+00:00");
    }
}
