//! The benchmark report: one JSON summary line and a table of the main
//! figures with their targets.

use serde_json::{Map, Value, json};

/// One line of the table.
struct Row {
    scenario: String,
    metric: String,
    value: String,
    target: String,
    met: Option<bool>,
}

/// Results of every scenario that ran, in order.
#[derive(Default)]
pub struct Report {
    results: Map<String, Value>,
    rows: Vec<Row>,
}

impl Report {
    /// Stores the raw results of `scenario` for the JSON line.
    pub fn results(&mut self, scenario: &str, value: Value) {
        self.results.insert(scenario.to_owned(), value);
    }

    /// Adds a figure without a target.
    pub fn figure(&mut self, scenario: &str, metric: impl Into<String>, value: impl Into<String>) {
        self.rows.push(Row {
            scenario: scenario.to_owned(),
            metric: metric.into(),
            value: value.into(),
            target: String::new(),
            met: None,
        });
    }

    /// Adds a figure with its target and whether the target was met.
    pub fn target(
        &mut self,
        scenario: &str,
        metric: impl Into<String>,
        value: impl Into<String>,
        target: impl Into<String>,
        met: bool,
    ) {
        self.rows.push(Row {
            scenario: scenario.to_owned(),
            metric: metric.into(),
            value: value.into(),
            target: target.into(),
            met: Some(met),
        });
    }

    /// Prints the JSON summary line on stdout, then the table.
    pub fn print(&self, context: Value) {
        let targets: Vec<Value> = self
            .rows
            .iter()
            .filter(|row| row.met.is_some())
            .map(|row| json!({ "scenario": row.scenario, "metric": row.metric, "value": row.value, "target": row.target, "met": row.met }))
            .collect();
        let summary = json!({ "context": context, "results": self.results, "targets": targets });
        println!("{summary}");

        let width = |column: fn(&Row) -> &str, header: &str| {
            self.rows.iter().map(|row| column(row).chars().count()).max().unwrap_or(0).max(header.len())
        };
        let widths = [
            width(|row| &row.scenario, "scenario"),
            width(|row| &row.metric, "metric"),
            width(|row| &row.value, "value"),
            width(|row| &row.target, "target"),
        ];
        println!();
        println!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:<w3$}  met",
            "scenario",
            "metric",
            "value",
            "target",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        for row in &self.rows {
            let met = match row.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            println!(
                "{:<w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {met}",
                row.scenario,
                row.metric,
                row.value,
                row.target,
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            );
        }
    }
}

/// Formats milliseconds with a precision that suits their size.
pub fn ms(value: f64) -> String {
    if value < 10.0 { format!("{value:.2} ms") } else { format!("{value:.1} ms") }
}

/// Reads a number at a JSON pointer such as `/delivery_latency/p99_ms`.
pub fn number(value: &Value, pointer: &str) -> f64 {
    value.pointer(pointer).and_then(Value::as_f64).unwrap_or(f64::NAN)
}
