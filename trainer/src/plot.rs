//! Scatter plots of predicted against human scores, written as PNG by hand (no image crate).
//!
//! One panel per score: x = human score, y = predicted score, both on the 0–10 scale, with grid
//! lines every 2 points, the y = x diagonal, semi-transparent dots (dense regions darken), and the
//! panel's title, Pearson r and number of pairs drawn with a small built-in bitmap font. Points
//! outside 0–10 are clamped to the frame and drawn in orange, and the panel says how many there
//! were; pairs with a NaN or infinite value are counted in `n` but not drawn.
//!
//! The PNG is 8-bit RGB, filter 0 on every row, the zlib stream compressed by miniz_oxide (deflate level
//! 6): a four-panel plot is mostly flat background, ~100 KB instead of the 2.5 MB of stored blocks.

use std::path::Path;

use crate::metrics::pearson;

/// One scatter panel: `human[i]` against `predicted[i]`.
pub struct Panel<'a> {
    pub title: &'a str,
    pub human: &'a [f64],
    pub predicted: &'a [f64],
}

/// Draws the panels on a grid (2×2 for four; `ceil(sqrt(n))` columns in general, row by row) and
/// writes the PNG to `path` through a temporary file and a rename. Four panels give 900×940 px.
pub fn scatter_png(panels: &[Panel], path: &Path) -> Result<(), String> {
    if panels.is_empty() {
        return Err(format!("cannot plot {}: no panels", path.display()));
    }
    for panel in panels {
        if panel.human.len() != panel.predicted.len() {
            return Err(format!(
                "cannot plot {}: panel '{}' has {} human scores but {} predictions",
                path.display(),
                panel.title,
                panel.human.len(),
                panel.predicted.len()
            ));
        }
    }
    let (cols, rows) = grid(panels.len());
    let mut canvas = Canvas::new(cols * PANEL_W, rows * PANEL_H);
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut canvas, (i % cols) * PANEL_W, (i / cols) * PANEL_H, panel);
    }
    let png = encode_png(canvas.width as u32, canvas.height as u32, &canvas.rgb);
    Ok(sslpron_fs::write_file(path, &png)?)
}

/// Columns and rows for `n` panels: as square as possible, wider than tall when not.
pub(crate) fn grid(n: usize) -> (usize, usize) {
    let mut cols = 1;
    while cols * cols < n {
        cols += 1;
    }
    (cols, n.div_ceil(cols))
}

// ---------------------------------------------------------------------------------------------
// Layout and colours.

const PANEL_W: usize = 450;
const PANEL_H: usize = 470;
/// The plot square inside a panel: left edge, top edge, side (pixels).
const PLOT_X: usize = 66;
const PLOT_Y: usize = 70;
const PLOT_SIDE: usize = 350;
const SCORE_MAX: f64 = 10.0;

pub(crate) type Rgb = [u8; 3];
pub(crate) const WHITE: Rgb = [255, 255, 255];
pub(crate) const TITLE: Rgb = [20, 20, 20];
pub(crate) const TEXT: Rgb = [70, 70, 70];
pub(crate) const GRID: Rgb = [228, 228, 228];
pub(crate) const FRAME: Rgb = [120, 120, 120];
const DIAGONAL: Rgb = [200, 90, 90];
const DOT: Rgb = [31, 100, 180];
const CLAMPED: Rgb = [235, 110, 0];
const DOT_ALPHA: f64 = 0.25;
const CLAMPED_ALPHA: f64 = 0.7;
const DOT_RADIUS: f64 = 3.2;

fn draw_panel(canvas: &mut Canvas, x0: usize, y0: usize, panel: &Panel) {
    let (px, py) = ((x0 + PLOT_X) as f64, (y0 + PLOT_Y) as f64);
    let span = (PLOT_SIDE - 1) as f64;
    // Score -> pixel centre; y grows downwards in the image.
    let to_x = |v: f64| px + v / SCORE_MAX * span;
    let to_y = |v: f64| py + (1.0 - v / SCORE_MAX) * span;

    // Grid lines every 2 points, the frame, and tick labels.
    for k in 0..=5 {
        let v = 2.0 * k as f64;
        let (gx, gy) = (to_x(v).round() as i64, to_y(v).round() as i64);
        let colour = if k == 0 || k == 5 { FRAME } else { GRID };
        let (left, top) = ((x0 + PLOT_X) as i64, (y0 + PLOT_Y) as i64);
        canvas.fill_rect(gx, top, 1, PLOT_SIDE as i64, colour);
        canvas.fill_rect(left, gy, PLOT_SIDE as i64, 1, colour);
        let label = format!("{}", 2 * k);
        let w = text_width(&label, 2);
        canvas.text(gx - w / 2, (y0 + PLOT_Y + PLOT_SIDE) as i64 + 8, &label, 2, TEXT);
        canvas.text(left - 8 - w, gy - 7, &label, 2, TEXT);
    }
    // Redraw the frame over the inner grid lines' ends.
    for v in [0.0, SCORE_MAX] {
        let (gx, gy) = (to_x(v).round() as i64, to_y(v).round() as i64);
        canvas.fill_rect(gx, (y0 + PLOT_Y) as i64, 1, PLOT_SIDE as i64, FRAME);
        canvas.fill_rect((x0 + PLOT_X) as i64, gy, PLOT_SIDE as i64, 1, FRAME);
    }
    // y = x, from (0, 0) at the bottom left to (10, 10) at the top right.
    for i in 1..PLOT_SIDE as i64 - 1 {
        let (x, y) = ((x0 + PLOT_X) as i64 + i, (y0 + PLOT_Y + PLOT_SIDE - 1) as i64 - i);
        canvas.blend(x, y, DIAGONAL, 0.9);
        canvas.blend(x + 1, y, DIAGONAL, 0.35);
        canvas.blend(x, y - 1, DIAGONAL, 0.35);
    }

    // The points: in range first, clamped ones on top so they stay visible.
    let mut clamped = Vec::new();
    for (&h, &p) in panel.human.iter().zip(panel.predicted) {
        if !(h.is_finite() && p.is_finite()) {
            continue;
        }
        let (hc, pc) = (h.clamp(0.0, SCORE_MAX), p.clamp(0.0, SCORE_MAX));
        if hc != h || pc != p {
            clamped.push((hc, pc));
        } else {
            canvas.dot(to_x(h), to_y(p), DOT_RADIUS, DOT, DOT_ALPHA);
        }
    }
    for &(h, p) in &clamped {
        canvas.dot(to_x(h), to_y(p), DOT_RADIUS, CLAMPED, CLAMPED_ALPHA);
    }

    // Title, Pearson r and n, and the axis names.
    let max_chars = (PANEL_W - PLOT_X - 10) / (ADVANCE as usize * 3);
    let title: String = panel.title.chars().take(max_chars).collect();
    canvas.text((x0 + PLOT_X) as i64, y0 as i64 + 14, &title, 3, TITLE);
    let r = pearson(panel.human, panel.predicted);
    let r = if r.is_finite() { format!("{r:.3}") } else { "n/a".to_string() };
    let line = format!("Pearson r = {r}   n = {}", panel.human.len());
    let line_y = y0 as i64 + 44;
    canvas.text((x0 + PLOT_X) as i64, line_y, &line, 2, TEXT);
    let below = (y0 + PLOT_Y + PLOT_SIDE) as i64 + 28;
    let centre_x = (x0 + PLOT_X + PLOT_SIDE / 2) as i64;
    canvas.text(centre_x - text_width("human", 2) / 2, below, "human", 2, TEXT);
    if !clamped.is_empty() {
        // Right-aligned with the plot, but never over "human".
        let note = format!("{} clamped", clamped.len());
        let right = (x0 + PLOT_X + PLOT_SIDE) as i64;
        let human_end = centre_x + text_width("human", 2) / 2;
        canvas.text((right - text_width(&note, 2)).max(human_end + 12), below, &note, 2, CLAMPED);
    }
    let centre_y = (y0 + PLOT_Y + PLOT_SIDE / 2) as i64;
    canvas.text_up(x0 as i64 + 6, centre_y + text_width("predicted", 2) / 2, "predicted", 2, TEXT);
}

// ---------------------------------------------------------------------------------------------
// Raster.

pub(crate) struct Canvas {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) rgb: Vec<u8>,
}

impl Canvas {
    pub(crate) fn new(width: usize, height: usize) -> Self {
        Canvas { width, height, rgb: WHITE.repeat(width * height) }
    }

    /// Mixes `colour` into the pixel with weight `alpha` (0..=1); outside the image: nothing.
    pub(crate) fn blend(&mut self, x: i64, y: i64, colour: Rgb, alpha: f64) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height || alpha <= 0.0 {
            return;
        }
        let alpha = alpha.min(1.0);
        let at = (y as usize * self.width + x as usize) * 3;
        for (old, new) in self.rgb[at..at + 3].iter_mut().zip(colour) {
            *old = (*old as f64 * (1.0 - alpha) + new as f64 * alpha).round() as u8;
        }
    }

    pub(crate) fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, colour: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.blend(xx, yy, colour, 1.0);
            }
        }
    }

    /// An anti-aliased disc centred on pixel coordinates (cx, cy).
    pub(crate) fn dot(&mut self, cx: f64, cy: f64, radius: f64, colour: Rgb, alpha: f64) {
        let reach = radius.ceil() as i64 + 1;
        let (ix, iy) = (cx.round() as i64, cy.round() as i64);
        for y in iy - reach..=iy + reach {
            for x in ix - reach..=ix + reach {
                let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
                let coverage = (radius + 0.5 - d).clamp(0.0, 1.0);
                self.blend(x, y, colour, alpha * coverage);
            }
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel a `scale`×`scale` square.
    pub(crate) fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, colour: Rgb) {
        for (i, c) in text.chars().enumerate() {
            let left = x + i as i64 * ADVANCE * scale;
            for_each_pixel(c, |col, row| self.fill_rect(left + col * scale, y + row * scale, scale, scale, colour));
        }
    }

    /// Text reading upwards (rotated 90° anticlockwise), starting at the bottom (x, y_bottom):
    /// the glyphs' tops face left.
    pub(crate) fn text_up(&mut self, x: i64, y_bottom: i64, text: &str, scale: i64, colour: Rgb) {
        for (i, c) in text.chars().enumerate() {
            let start = y_bottom - i as i64 * ADVANCE * scale;
            for_each_pixel(c, |col, row| self.fill_rect(x + row * scale, start - (col + 1) * scale, scale, scale, colour));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A 5×9 bitmap font: capitals and digits in rows 0–6, lower-case x-height rows 2–6, descenders in
// rows 7–8. Only what the plots need; anything else draws as '?'.

const GLYPH_W: i64 = 5;
pub(crate) const ADVANCE: i64 = GLYPH_W + 1;

pub(crate) fn text_width(text: &str, scale: i64) -> i64 {
    let n = text.chars().count() as i64;
    if n == 0 { 0 } else { (n * ADVANCE - 1) * scale }
}

/// Calls `f(column, row)` for every lit pixel of `c`.
fn for_each_pixel(c: char, mut f: impl FnMut(i64, i64)) {
    let rows = glyph(c).or_else(|| glyph('?')).expect("'?' has a glyph");
    for (row, bits) in rows.split_whitespace().enumerate() {
        for (col, b) in bits.bytes().enumerate() {
            if b == b'#' {
                f(col as i64, row as i64);
            }
        }
    }
}

/// The rows of a glyph, top first, '#' for ink; rows left out at the bottom are blank.
fn glyph(c: char) -> Option<&'static str> {
    Some(match c {
        'A' => ".###. #...# #...# ##### #...# #...# #...#",
        'B' => "####. #...# #...# ####. #...# #...# ####.",
        'C' => ".###. #...# #.... #.... #.... #...# .###.",
        'D' => "####. #...# #...# #...# #...# #...# ####.",
        'E' => "##### #.... #.... ####. #.... #.... #####",
        'F' => "##### #.... #.... ####. #.... #.... #....",
        'G' => ".###. #...# #.... #.### #...# #...# .####",
        'H' => "#...# #...# #...# ##### #...# #...# #...#",
        'I' => ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        'J' => "..### ...#. ...#. ...#. ...#. #..#. .##..",
        'K' => "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
        'L' => "#.... #.... #.... #.... #.... #.... #####",
        'M' => "#...# ##.## #.#.# #.#.# #...# #...# #...#",
        'N' => "#...# #...# ##..# #.#.# #..## #...# #...#",
        'O' => ".###. #...# #...# #...# #...# #...# .###.",
        'P' => "####. #...# #...# ####. #.... #.... #....",
        'Q' => ".###. #...# #...# #...# #.#.# #..#. .##.#",
        'R' => "####. #...# #...# ####. #.#.. #..#. #...#",
        'S' => ".#### #.... #.... .###. ....# ....# ####.",
        'T' => "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        'U' => "#...# #...# #...# #...# #...# #...# .###.",
        'V' => "#...# #...# #...# #...# #...# .#.#. ..#..",
        'W' => "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
        'X' => "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
        'Y' => "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
        'Z' => "##### ....# ...#. ..#.. .#... #.... #####",
        'a' => "..... ..... .###. ....# .#### #...# .####",
        'b' => "#.... #.... #.##. ##..# #...# #...# ####.",
        'c' => "..... ..... .###. #.... #.... #...# .###.",
        'd' => "....# ....# .##.# #..## #...# #...# .####",
        'e' => "..... ..... .###. #...# ##### #.... .###.",
        'f' => "..##. .#..# .#... ###.. .#... .#... .#...",
        'g' => "..... ..... .#### #...# #...# #...# .#### ....# .###.",
        'h' => "#.... #.... #.##. ##..# #...# #...# #...#",
        'i' => "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
        'j' => "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..",
        'k' => "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
        'l' => ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        'm' => "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#",
        'n' => "..... ..... #.##. ##..# #...# #...# #...#",
        'o' => "..... ..... .###. #...# #...# #...# .###.",
        'p' => "..... ..... ####. #...# #...# #...# ####. #.... #....",
        'q' => "..... ..... .#### #...# #...# #...# .#### ....# ....#",
        'r' => "..... ..... #.##. ##..# #.... #.... #....",
        's' => "..... ..... .###. #.... .###. ....# ####.",
        't' => ".#... .#... ###.. .#... .#... .#..# ..##.",
        'u' => "..... ..... #...# #...# #...# #..## .##.#",
        'v' => "..... ..... #...# #...# #...# .#.#. ..#..",
        'w' => "..... ..... #...# #...# #.#.# #.#.# .#.#.",
        'x' => "..... ..... #...# .#.#. ..#.. .#.#. #...#",
        'y' => "..... ..... #...# #...# #...# #...# .#### ....# .###.",
        'z' => "..... ..... ##### ...#. ..#.. .#... #####",
        '0' => ".###. #...# #..## #.#.# ##..# #...# .###.",
        '1' => "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
        '2' => ".###. #...# ....# ...#. ..#.. .#... #####",
        '3' => "##### ...#. ..#.. ...#. ....# #...# .###.",
        '4' => "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
        '5' => "##### #.... ####. ....# ....# #...# .###.",
        '6' => "..##. .#... #.... ####. #...# #...# .###.",
        '7' => "##### ....# ...#. ..#.. .#... .#... .#...",
        '8' => ".###. #...# #...# .###. #...# #...# .###.",
        '9' => ".###. #...# #...# .#### ....# ...#. .##..",
        ' ' => "",
        '.' => "..... ..... ..... ..... ..... .##.. .##..",
        ',' => "..... ..... ..... ..... ..... .##.. ..#.. .#...",
        ':' => "..... .##.. .##.. ..... .##.. .##.. .....",
        '=' => "..... ..... ##### ..... ##### ..... .....",
        '-' => "..... ..... ..... ##### ..... ..... .....",
        '+' => "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
        '_' => "..... ..... ..... ..... ..... ..... #####",
        '/' => "..... ....# ...#. ..#.. .#... #.... .....",
        '(' => "...#. ..#.. .#... .#... .#... ..#.. ...#.",
        ')' => ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
        '?' => ".###. #...# ....# ...#. ..#.. ..... ..#..",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// PNG.

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
/// Deflate effort: 6 is zlib's default; 9 saves a few percent more for several times the time.
const DEFLATE_LEVEL: u8 = 6;
/// IDAT chunks are cut at this size (any split is valid; decoders concatenate them).
const IDAT_MAX: usize = 1 << 20;

/// An 8-bit RGB PNG of `rgb` (row-major, 3 bytes a pixel), every row with filter type 0.
pub(crate) fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let row = width as usize * 3;
    assert_eq!(rgb.len(), row * height as usize, "pixel buffer does not match {width}x{height}");
    let mut raw = Vec::with_capacity(height as usize * (row + 1));
    for line in rgb.chunks(row.max(1)).take(height as usize) {
        raw.push(0);
        raw.extend_from_slice(line);
    }
    let zlib = miniz_oxide::deflate::compress_to_vec_zlib(&raw, DEFLATE_LEVEL);

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // bit depth 8, RGB, deflate, filter 0, no interlace

    let mut png = Vec::with_capacity(zlib.len() + 64 + 12 * zlib.len().div_ceil(IDAT_MAX));
    png.extend_from_slice(&PNG_SIGNATURE);
    push_chunk(&mut png, b"IHDR", &ihdr);
    for part in zlib.chunks(IDAT_MAX) {
        push_chunk(&mut png, b"IDAT", part);
    }
    push_chunk(&mut png, b"IEND", &[]);
    png
}

fn push_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// CRC-32 (ISO 3309 / PNG), table-driven.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_reference_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn every_glyph_is_well_formed() {
        let chars = ('A'..='Z').chain('a'..='z').chain('0'..='9').chain(" .,:=-+_/()?".chars());
        for c in chars {
            let rows = glyph(c).unwrap_or_else(|| panic!("no glyph for {c:?}"));
            let rows: Vec<&str> = rows.split_whitespace().collect();
            assert!(rows.len() <= 9, "{c:?} has {} rows", rows.len());
            for row in rows {
                assert!(row.len() == GLYPH_W as usize && row.bytes().all(|b| b == b'#' || b == b'.'), "{c:?}: {row:?}");
            }
        }
        assert!(glyph('~').is_none());
    }

    #[test]
    fn grid_shapes() {
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(2), (2, 1));
        assert_eq!(grid(3), (2, 2));
        assert_eq!(grid(4), (2, 2));
        assert_eq!(grid(5), (3, 2));
        assert_eq!(grid(9), (3, 3));
        assert_eq!(grid(10), (4, 3));
    }
}
