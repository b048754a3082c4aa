//! Bar charts drawn as inline SVG by the templates (`console/bar_chart.html`): one bar per
//! labelled value, scaled to the largest value or to a fixed top (a rating's scale). No chart
//! library and no script: the server draws them, so a live region's fresh copy carries its
//! chart.

/// The bars' width for the top of the scale, in SVG units.
const BAR_SPAN: f64 = 140.0;
/// The height of one bar's row, in SVG units.
const ROW_HEIGHT: usize = 22;
/// The most characters of a label drawn beside its bar; the bar's tooltip has it whole.
const LABEL_CHARS: usize = 18;

/// A chart of labelled bars, with the caption that names it for assistive technology.
pub struct BarChart {
    /// The figure's element id, unique on the page.
    pub id: &'static str,
    pub caption: String,
    pub bars: Vec<ChartBar>,
    /// The drawing's height, in SVG units.
    pub height: usize,
}

/// One bar: its label, the value as written, and where it is drawn.
pub struct ChartBar {
    pub label: String,
    /// The label as drawn: cut to fit.
    pub short_label: String,
    pub shown: String,
    pub width: u64,
    pub y: usize,
}

impl BarChart {
    /// Bars of `values` (label, value, the value as written), as long as the largest value
    /// or, with `top`, as a share of `top` (a rating's scale).
    pub fn of(
        id: &'static str,
        caption: String,
        values: Vec<(String, f64, String)>,
        top: Option<f64>,
    ) -> Self {
        let largest = values
            .iter()
            .map(|(_, value, _)| *value)
            .fold(0.0, f64::max);
        let top = top.unwrap_or(largest).max(f64::MIN_POSITIVE);
        let bars: Vec<ChartBar> = values
            .into_iter()
            .enumerate()
            .map(|(index, (label, value, shown))| ChartBar {
                short_label: short(&label),
                label,
                shown,
                width: (value.clamp(0.0, top) / top * BAR_SPAN).round() as u64,
                y: index * ROW_HEIGHT,
            })
            .collect();
        Self {
            id,
            caption,
            height: bars.len().max(1) * ROW_HEIGHT,
            bars,
        }
    }

    /// Bars of counts, as long as the largest count.
    pub fn of_counts(
        id: &'static str,
        caption: String,
        counts: impl IntoIterator<Item = (String, u64)>,
    ) -> Self {
        let values = counts
            .into_iter()
            .map(|(label, count)| (label, count as f64, count.to_string()))
            .collect();
        Self::of(id, caption, values, None)
    }
}

/// `label` cut to [`LABEL_CHARS`] characters, with an ellipsis when cut.
fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut cut: String = label.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts scale to the largest, ratings to their scale's top; long labels are cut.
    #[test]
    fn bars_scale_to_the_largest_or_the_top() {
        let counts = BarChart::of_counts(
            "c",
            "counts".into(),
            [
                ("a".to_owned(), 4),
                ("a very long intent name".to_owned(), 1),
            ],
        );
        let widths: Vec<u64> = counts.bars.iter().map(|bar| bar.width).collect();
        assert_eq!(widths, [140, 35]);
        assert_eq!(counts.bars[1].short_label, "a very long inten…");
        assert_eq!((counts.bars[1].y, counts.height), (22, 44));
        let ratings = BarChart::of(
            "r",
            "ratings".into(),
            vec![("seo".into(), 2.5, "2.50".into())],
            Some(5.0),
        );
        assert_eq!(ratings.bars[0].width, 70);
        let empty = BarChart::of_counts("e", "none".into(), []);
        assert!(empty.bars.is_empty());
    }
}
