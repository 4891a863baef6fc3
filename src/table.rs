//! `Table`: the one renderer of the CLI's tables (`ls`, `agents`, `images status`):
//! columns two spaces apart, each as wide as its widest cell, the last one unpadded.
//! Pure.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        Table {
            rows: vec![header.into_iter().map(Into::into).collect()],
        }
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// One line per row, each ending in a newline, no trailing spaces.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if c + 1 < row.len() {
                    let pad = widths[c] - cell.chars().count();
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_on_the_widest_cell() {
        let mut t = Table::new(["AGENT", "ID", "CONTAINERS"]);
        t.row(["a-very-long-agent", "1111", "x (agent, running)"]);
        t.row(["dev", "22", ""]);
        assert_eq!(
            t.render(),
            "AGENT              ID    CONTAINERS\n\
             a-very-long-agent  1111  x (agent, running)\n\
             dev                22\n"
        );
        let wide = Table::new(["ÄÖÜ", "b"]).render();
        assert_eq!(wide, "ÄÖÜ  b\n", "widths count characters, not bytes");
    }
}
