//! Pictures: amplification and success rate over time, one line per
//! strategy, one row per scenario, as SVG.
//!
//! The SVG is drawn by plotters' SVG backend, which writes text as SVG
//! `<text>` elements: no font files and no system libraries are needed to
//! draw it, and the viewer's fonts render it.
//!
//! ```
//! use canon_sim::{Scenario, Strategy, plot, run_all};
//!
//! let runs = run_all(&[Scenario::OutageOneProcess], &[Strategy::CanonCudo, Strategy::Naive3], 1);
//! let svg = plot::svg(&runs).unwrap();
//! assert!(svg.starts_with("<svg"));
//! assert!(svg.contains("canon-cudo"));
//! ```

use std::fmt;

use plotters::prelude::*;

use crate::metrics::Metrics;
use crate::scenario::Scenario;
use crate::strategy::Strategy;

/// Drawing a picture failed.
#[derive(Debug)]
pub struct PlotError(String);

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not draw the plot: {}", self.0)
    }
}

impl std::error::Error for PlotError {}

fn error(e: impl fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

/// The line colour of a strategy: canon's in strong blues, the baselines
/// in greys, the peers in distinct colours.
fn colour(strategy: Strategy) -> RGBColor {
    match strategy {
        Strategy::CanonCudo => RGBColor(0, 70, 200),
        Strategy::CanonDefault => RGBColor(0, 160, 230),
        Strategy::NoRetry => RGBColor(150, 150, 150),
        Strategy::Naive3 => RGBColor(60, 60, 60),
        Strategy::AwsStandard => RGBColor(255, 140, 0),
        Strategy::Stainless => RGBColor(200, 0, 0),
        Strategy::GrpcA6 => RGBColor(0, 150, 70),
        Strategy::TowerTpsBudget => RGBColor(150, 0, 150),
        Strategy::ReqwestRetry => RGBColor(180, 120, 60),
        Strategy::GaxThrottler => RGBColor(230, 0, 120),
        Strategy::Backon => RGBColor(120, 170, 0),
    }
}

/// The runs as one SVG: a row per scenario (in the order they first
/// appear), amplification on the left (log scale) and success rate on the
/// right, against seconds from the start of the fault.
pub fn svg(runs: &[Metrics]) -> Result<String, PlotError> {
    let mut scenarios: Vec<Scenario> = Vec::new();
    for run in runs {
        if !scenarios.contains(&run.scenario) {
            scenarios.push(run.scenario);
        }
    }
    let rows = scenarios.len().max(1);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1400, 360 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        let cells = root.split_evenly((rows, 2));
        for (row, scenario) in scenarios.iter().enumerate() {
            let runs: Vec<&Metrics> = runs.iter().filter(|m| m.scenario == *scenario).collect();
            draw(&cells[2 * row], scenario, &runs, Panel::Amplification)?;
            draw(&cells[2 * row + 1], scenario, &runs, Panel::Success)?;
        }
        root.present().map_err(error)?;
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    Amplification,
    Success,
}

fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    scenario: &Scenario,
    runs: &[&Metrics],
    panel: Panel,
) -> Result<(), PlotError> {
    let first = runs.iter().flat_map(|m| m.timeline.first()).map(|s| s.offset).min().unwrap_or(0);
    let last = runs.iter().flat_map(|m| m.timeline.last()).map(|s| s.offset).max().unwrap_or(1);
    let x = first as f64..(last + 1) as f64;
    let title = match panel {
        Panel::Amplification => format!("{scenario}: attempts per logical request"),
        Panel::Success => format!("{scenario}: success rate"),
    };
    let mut builder = ChartBuilder::on(area);
    builder.caption(title, ("sans-serif", 18)).margin(10).x_label_area_size(35).y_label_area_size(50);
    let series = |m: &Metrics| -> Vec<(f64, f64)> {
        m.timeline
            .iter()
            .filter_map(|s| {
                let value = match panel {
                    Panel::Amplification => s.amplification,
                    Panel::Success => s.success_rate,
                }?;
                Some((s.offset as f64 + 0.5, value))
            })
            .collect()
    };
    match panel {
        Panel::Amplification => {
            let top = runs.iter().flat_map(|m| series(m)).map(|(_, y)| y).fold(2.0f64, f64::max).min(1000.0) * 1.2;
            let mut chart = builder.build_cartesian_2d(x, (0.9f64..top).log_scale()).map_err(error)?;
            chart
                .configure_mesh()
                .x_desc("seconds from the start of the fault")
                .y_desc("amplification")
                .draw()
                .map_err(error)?;
            lines(&mut chart, runs, &series)?;
        }
        Panel::Success => {
            let mut chart = builder.build_cartesian_2d(x, 0f64..1.05f64).map_err(error)?;
            chart
                .configure_mesh()
                .x_desc("seconds from the start of the fault")
                .y_desc("success rate")
                .draw()
                .map_err(error)?;
            lines(&mut chart, runs, &series)?;
        }
    }
    Ok(())
}

fn lines<'a, DB: DrawingBackend + 'a, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    runs: &[&Metrics],
    series: &dyn Fn(&Metrics) -> Vec<(f64, f64)>,
) -> Result<(), PlotError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for m in runs {
        let style = ShapeStyle::from(colour(m.strategy)).stroke_width(if m.strategy.is_canon() { 3 } else { 1 });
        let legend = ShapeStyle::from(colour(m.strategy)).stroke_width(3);
        chart
            .draw_series(LineSeries::new(series(m), style))
            .map_err(error)?
            .label(m.strategy.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], legend));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(error)?;
    Ok(())
}
