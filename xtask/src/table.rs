//! Aligned text tables for the terminal, and the same as Markdown.

/// A titled table of strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Shown above the table.
    pub title: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows (each as long as `headers`).
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table.
    pub fn new(title: &str, headers: &[&str]) -> Self {
        Table {
            title: title.to_string(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (padded or cut to the number of columns).
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    fn widths(&self) -> Vec<usize> {
        let mut w: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        w
    }

    /// The table as aligned text (numbers right-aligned).
    pub fn to_text(&self) -> String {
        let w = self.widths();
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = w[i] - c.chars().count();
                if looks_numeric(c) {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
                s.push_str("  ");
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = format!("{}\n", self.title);
        out += &line(&self.headers);
        out += &line(&w.iter().map(|n| "-".repeat(*n)).collect::<Vec<_>>());
        for r in &self.rows {
            out += &line(r);
        }
        out
    }

    /// Prints [`Table::to_text`].
    pub fn print(&self) {
        println!("{}", self.to_text());
    }

    /// The table as GitHub Markdown.
    pub fn to_markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let mut out = format!(
            "**{}**\n\n| {} |\n|",
            esc(&self.title),
            self.headers
                .iter()
                .map(|h| esc(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        out += &"---|".repeat(self.headers.len());
        out.push('\n');
        for r in &self.rows {
            out += &format!(
                "| {} |\n",
                r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        out
    }
}

fn looks_numeric(s: &str) -> bool {
    let t = s.trim_end_matches(['s', 'x', '×', '%', 'B']).trim();
    !t.is_empty() && t.parse::<f64>().is_ok()
}

/// Formats seconds with 3 decimals.
pub fn secs(s: f64) -> String {
    format!("{s:.3}")
}

/// Formats a ratio as `1.85×`.
pub fn ratio(r: f64) -> String {
    format!("{r:.2}×")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_and_renders_markdown() {
        let mut t = Table::new("T", &["variant", "wall s"]);
        t.row(vec!["seq".into(), "0.950".into()]);
        t.row(vec!["threads".into(), "0.2".into()]);
        let text = t.to_text();
        let lines: Vec<&str> = text.lines().skip(1).collect();
        // Numbers are right-aligned: every line ends at the same column.
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{text}");
        assert!(
            lines[2].starts_with("seq ") && lines[2].ends_with(" 0.950"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("threads ") && lines[3].ends_with("   0.2"),
            "{text}"
        );
        let md = t.to_markdown();
        assert!(md.contains("| variant | wall s |"));
        assert!(md.contains("| seq | 0.950 |"));
    }
}
