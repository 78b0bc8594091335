//! PNG plots of a run: curves per epoch (loss, kNN accuracy), a 2-D scatter of embeddings,
//! and grouped bars with spread bars (a comparison of runs).
//!
//! Drawn with plotters into an RGB buffer and encoded as PNG with the `image` crate. Text uses
//! an embedded ASCII subset of DejaVu Sans (see `assets/README.md`), so plots look the same on
//! every machine, with or without system fonts.

use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans-ascii.ttf");
const FONT_NAME: &str = "sans-serif";

/// One named curve: `(x, y)` points in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// The per-epoch values of the monitor figure `key` (`EpochMetrics::monitor`), epochs
    /// without it left out, named `name` in the legend.
    pub fn from_monitor(name: impl Into<String>, key: &str, history: &[EpochMetrics]) -> Self {
        Self {
            name: name.into(),
            points: history
                .iter()
                .filter_map(|m| m.monitor.get(key).map(|&v| (m.epoch as f64, v)))
                .collect(),
        }
    }

    /// [`Series::from_monitor`] for each of `keys`, every series named by its key.
    pub fn from_monitor_keys(
        keys: impl IntoIterator<Item = String>,
        history: &[EpochMetrics],
    ) -> Vec<Self> {
        keys.into_iter()
            .map(|key| Self::from_monitor(key.clone(), &key, history))
            .collect()
    }
}

fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font is a valid TrueType file; failure here is a build defect.
        if register_font(FONT_NAME, FontStyle::Normal, FONT).is_err() {
            panic!("embedded plot font failed to load");
        }
    });
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}

fn range_of(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The series' legend, boxed, at `position`.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Result<()> {
    chart
        .configure_series_labels()
        .label_font((FONT_NAME, 14))
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)
}

/// The frame every plot shares: white canvas, title, labelled axes over `xs` x `ys`, a
/// legend; `draw` adds the series. Returns PNG bytes.
fn render(
    size: (u32, u32),
    labels: [&str; 3],
    (xs, ys): ((f64, f64), (f64, f64)),
    draw: impl FnOnce(&mut Chart<'_, '_>) -> Result<()>,
) -> Result<Vec<u8>> {
    register();
    let [title, x_label, y_label] = labels;
    let mut buffer = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_NAME, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((FONT_NAME, 14))
            .draw()
            .map_err(plot_error)?;
        draw(&mut chart)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(plot_error)?;
    }
    encode_png(buffer, size)
}

/// Renders line charts of `series` against a shared x axis into PNG bytes.
pub fn line_chart_png(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    size: (u32, u32),
) -> Result<Vec<u8>> {
    let xs = range_of(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let ys = range_of(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    render(size, [title, x_label, y_label], (xs, ys), |chart| {
        for (i, s) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(plot_error)?;
        }
        Ok(())
    })
}

/// Renders a scatter of 2-D points coloured by class into PNG bytes.
pub fn scatter_png(
    title: &str,
    points: &[(f64, f64)],
    classes: &[usize],
    class_names: &[String],
    size: (u32, u32),
) -> Result<Vec<u8>> {
    if points.len() != classes.len() {
        return Err(Error::LabelCount {
            what: "scatter plot classes",
            expected: points.len(),
            got: classes.len(),
        });
    }
    let xs = range_of(points.iter().map(|p| p.0));
    let ys = range_of(points.iter().map(|p| p.1));
    render(size, [title, "PC 1", "PC 2"], (xs, ys), |chart| {
        let num_classes = classes.iter().copied().max().map_or(0, |m| m + 1);
        for class in 0..num_classes {
            let color = Palette99::pick(class).to_rgba();
            let name = class_names
                .get(class)
                .cloned()
                .unwrap_or_else(|| class.to_string());
            let members = points.iter().zip(classes).filter(|&(_, &c)| c == class);
            chart
                .draw_series(members.map(|(&p, _)| Circle::new(p, 2, color.filled())))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        Ok(())
    })
}

/// One labelled group of bars: `(value, spread)` per series, drawn as a bar to the value
/// with a bar of +- the spread.
#[derive(Clone, Debug, PartialEq)]
pub struct BarGroup {
    /// The group's label (left of its bars).
    pub label: String,
    /// `(value, spread)` per series, in the order of the series names.
    pub bars: Vec<(f64, f64)>,
}

/// Renders horizontal grouped bars into PNG bytes: one group per row, top to bottom, one
/// bar per series (coloured, in the legend) with its spread as an error bar. The value
/// axis spans the bars' range with a margin (not from 0), so that close values stay apart;
/// its ticks say where it starts.
pub fn bar_chart_png(
    title: &str,
    value_label: &str,
    series: &[String],
    groups: &[BarGroup],
    size: (u32, u32),
) -> Result<Vec<u8>> {
    if let Some(g) = groups.iter().find(|g| g.bars.len() != series.len()) {
        return Err(Error::LabelCount {
            what: "bars of a group (one per series)",
            expected: series.len(),
            got: g.bars.len(),
        });
    }
    register();
    let ends = groups
        .iter()
        .flat_map(|g| g.bars.iter().flat_map(|&(v, e)| [v - e.abs(), v + e.abs()]));
    let (lo, hi) = range_of(ends);
    // Room on the right for the legend, so that it covers no bar.
    let (lo, hi) = (
        (lo - (hi - lo) * 0.1).max(0.0).min(lo),
        hi + (hi - lo) * 0.35,
    );
    let rows = groups.len().max(1) as f64;
    let height = 0.8 / series.len().max(1) as f64;
    let label_width = groups
        .iter()
        .map(|g| g.label.len())
        .max()
        .unwrap_or(0)
        .clamp(8, 48) as u32
        * 8
        + 16;
    let mut buffer = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_NAME, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_width)
            .build_cartesian_2d(lo..hi, 0.0..rows)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(value_label)
            .label_style((FONT_NAME, 14))
            .draw()
            .map_err(plot_error)?;
        for (s, name) in series.iter().enumerate() {
            let color = Palette99::pick(s).to_rgba();
            // Group 0 at the top (y in [rows - 1, rows)), series 0 at the top of its group.
            let slot = (series.len() - 1 - s) as f64;
            let bottom = |i: usize| rows - i as f64 - 0.9 + slot * height;
            chart
                .draw_series(groups.iter().enumerate().map(|(i, g)| {
                    Rectangle::new(
                        [(lo, bottom(i)), (g.bars[s].0, bottom(i) + height * 0.9)],
                        color.filled(),
                    )
                }))
                .map_err(plot_error)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
                });
            for (i, g) in groups.iter().enumerate() {
                let (v, e) = g.bars[s];
                let y = bottom(i) + height * 0.45;
                let cap = height * 0.25;
                let lines = [
                    vec![(v - e.abs(), y), (v + e.abs(), y)],
                    vec![(v - e.abs(), y - cap), (v - e.abs(), y + cap)],
                    vec![(v + e.abs(), y - cap), (v + e.abs(), y + cap)],
                ];
                chart
                    .draw_series(
                        lines
                            .into_iter()
                            .map(|l| PathElement::new(l, BLACK.stroke_width(2))),
                    )
                    .map_err(plot_error)?;
            }
        }
        for (i, g) in groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(lo, rows - i as f64 - 0.5));
            let style = TextStyle::from((FONT_NAME, 14).into_font())
                .pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(g.label.clone(), (x - 8, y), style))
                .map_err(plot_error)?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(plot_error)?;
    }
    encode_png(buffer, size)
}

fn encode_png(rgb: Vec<u8>, size: (u32, u32)) -> Result<Vec<u8>> {
    let image = image::RgbImage::from_raw(size.0, size.1, rgb)
        .ok_or_else(|| Error::Plot("plot buffer has the wrong size".into()))?;
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(plot_error)?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> image::RgbImage {
        image::load_from_memory(png).expect("valid PNG").to_rgb8()
    }

    fn non_white(img: &image::RgbImage) -> usize {
        img.pixels().filter(|p| p.0 != [255, 255, 255]).count()
    }

    #[test]
    fn line_chart_is_a_png_of_the_requested_size_with_ink() {
        let s = Series {
            name: "loss".into(),
            points: vec![(1.0, 5.0), (2.0, 4.0), (3.0, 3.5)],
        };
        let png = line_chart_png("Loss", "epoch", "loss", &[s], (400, 300)).unwrap();
        let img = decode(&png);
        assert_eq!(img.dimensions(), (400, 300));
        assert!(non_white(&img) > 500, "chart drew almost nothing");
    }

    #[test]
    fn bars_colour_each_series_and_refuse_a_missing_bar() {
        let series = vec!["kNN".to_string(), "probe".to_string()];
        let groups = vec![
            BarGroup {
                label: "nt_xent-batch".into(),
                bars: vec![(0.9, 0.01), (0.95, 0.02)],
            },
            BarGroup {
                label: "dcl-batch".into(),
                bars: vec![(0.85, 0.0), (0.93, 0.01)],
            },
        ];
        let png = bar_chart_png("runs", "accuracy", &series, &groups, (600, 400)).unwrap();
        let img = decode(&png);
        assert_eq!(img.dimensions(), (600, 400));
        for s in 0..2 {
            let c = Palette99::pick(s).to_rgba();
            let count = img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count();
            assert!(count > 200, "series {s} has {count} pixels");
        }
        let short = vec![BarGroup {
            label: "x".into(),
            bars: vec![(0.5, 0.1)],
        }];
        assert!(bar_chart_png("runs", "acc", &series, &short, (300, 200)).is_err());
    }

    #[test]
    fn scatter_colours_each_class() {
        let points = vec![(0.0, 0.0), (1.0, 1.0), (0.5, 0.2), (0.9, 0.1)];
        let png = scatter_png(
            "PCA",
            &points,
            &[0, 1, 0, 1],
            &["a".into(), "b".into()],
            (300, 300),
        )
        .unwrap();
        let img = decode(&png);
        let class0 = Palette99::pick(0).to_rgba();
        let has_class0 = img.pixels().any(|p| p.0 == [class0.0, class0.1, class0.2]);
        assert!(has_class0, "class 0 colour missing");
        assert!(scatter_png("x", &points, &[0], &[], (300, 300)).is_err());
    }
}
