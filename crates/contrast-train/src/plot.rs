//! PNG plots of a run: curves per epoch (loss, kNN accuracy) and a 2-D scatter of embeddings.
//!
//! Drawn with plotters into an RGB buffer and encoded as PNG with the `image` crate. Text uses
//! an embedded ASCII subset of DejaVu Sans (see `assets/README.md`), so plots look the same on
//! every machine, with or without system fonts.

use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::{Error, Result};

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
        chart
            .configure_series_labels()
            .label_font((FONT_NAME, 14))
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_error)?;
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
