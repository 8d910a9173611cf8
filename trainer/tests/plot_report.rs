//! The scatter-plot PNG and the evaluation report, checked from outside: the PNG is decoded here
//! with an independent minimal reader (bitwise CRC-32, chunk layout, IHDR, Adler-32; the inflate is
//! miniz_oxide's), and the drawing is checked by where a dot lands.

use std::path::{Path, PathBuf};

use trainer::plot::{Panel, scatter_png};
use trainer::report::EvalReport;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-plot-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// CRC-32 (polynomial 0xEDB88320), one bit at a time.
fn crc32_bitwise(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32_plain(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u64, 0u64);
    for &x in bytes {
        a = (a + x as u64) % 65_521;
        b = (b + a) % 65_521;
    }
    ((b << 16) | a) as u32
}

struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let at = (y * self.width + x) * 3;
        [self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]]
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads an 8-bit RGB PNG, checking every chunk CRC, the chunk order, the IHDR fields, the zlib
/// header, the Adler-32 of the inflated scanlines and their byte count.
fn decode(png: &[u8]) -> Image {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "signature");
    let mut at = 8;
    let mut chunks: Vec<([u8; 4], &[u8])> = Vec::new();
    while at < png.len() {
        assert!(at + 12 <= png.len(), "truncated chunk header at {at}");
        let len = be32(&png[at..]) as usize;
        let kind: [u8; 4] = png[at + 4..at + 8].try_into().unwrap();
        assert!(at + 12 + len <= png.len(), "chunk {:?} runs past the end", String::from_utf8_lossy(&kind));
        let data = &png[at + 8..at + 8 + len];
        let crc = be32(&png[at + 8 + len..]);
        assert_eq!(crc, crc32_bitwise(&png[at + 4..at + 8 + len]), "CRC of {}", String::from_utf8_lossy(&kind));
        chunks.push((kind, data));
        at += 12 + len;
    }
    assert_eq!(at, png.len());
    assert_eq!(&chunks[0].0, b"IHDR", "IHDR first");
    let (last, rest) = chunks.split_last().unwrap();
    assert_eq!((&last.0, last.1.len()), (b"IEND", 0), "empty IEND last");
    assert!(rest[1..].iter().all(|(k, _)| k == b"IDAT"), "only IDAT between IHDR and IEND");

    let ihdr = chunks[0].1;
    assert_eq!(ihdr.len(), 13);
    let (width, height) = (be32(&ihdr[0..]) as usize, be32(&ihdr[4..]) as usize);
    assert!(width > 0 && height > 0);
    assert_eq!(&ihdr[8..], &[8, 2, 0, 0, 0], "8-bit RGB, deflate, filter method 0, no interlace");

    let z: Vec<u8> = rest[1..].iter().flat_map(|(_, d)| d.iter().copied()).collect();
    assert!(z.len() >= 2 + 5 + 4);
    assert_eq!(z[0] & 0x0f, 8, "CM = deflate");
    assert!(z[0] >> 4 <= 7, "window at most 32 KiB");
    assert_eq!((z[0] as u32 * 256 + z[1] as u32) % 31, 0, "FCHECK");
    assert_eq!(z[1] & 0x20, 0, "no preset dictionary");
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&z).expect("a valid zlib stream");
    assert_eq!(be32(&z[z.len() - 4..]), adler32_plain(&raw), "Adler-32");
    assert_eq!(raw.len(), height * (1 + width * 3), "scanline bytes");

    let mut rgb = Vec::with_capacity(width * height * 3);
    for line in raw.chunks(1 + width * 3) {
        assert_eq!(line[0], 0, "filter type 0");
        rgb.extend_from_slice(&line[1..]);
    }
    Image { width, height, rgb }
}

fn render(panels: &[Panel], dir: &Path, name: &str) -> Image {
    let path = dir.join(name);
    scatter_png(panels, &path).unwrap();
    decode(&std::fs::read(&path).unwrap())
}

/// Deterministic pseudo-random scores: human in 0..10, predicted = human + noise (some outside).
fn fake_scores(n: usize, seed: u64, noise: f64) -> (Vec<f64>, Vec<f64>) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let human: Vec<f64> = (0..n).map(|_| (next() * 10.0 * 2.0).round() / 2.0).collect();
    let predicted = human.iter().map(|h| h + (next() - 0.5) * 2.0 * noise).collect();
    (human, predicted)
}

#[test]
fn four_panel_png_is_valid_and_drawn() {
    let dir = scratch("four");
    let names = ["accuracy", "fluency", "prosody", "total"];
    let data: Vec<_> = (0..4).map(|i| fake_scores(500, 11 + i, 1.0 + i as f64)).collect();
    let panels: Vec<Panel> = names.iter().zip(&data).map(|(title, (h, p))| Panel { title, human: h, predicted: p }).collect();
    let image = render(&panels, &dir, "scatter.png");
    // Compressed: the stored-block PNGs were 2.5 MB; 500 dots a panel on a flat background deflate
    // to a small fraction of the 2.5 MB of raw scanlines.
    let bytes = std::fs::metadata(dir.join("scatter.png")).unwrap().len();
    assert!(bytes < 400_000, "scatter.png is {bytes} bytes");
    assert!((800..=1000).contains(&image.width) && (800..=1000).contains(&image.height), "{}x{}", image.width, image.height);
    let white = image.rgb.chunks(3).filter(|p| p == &[255, 255, 255]).count();
    let total = image.width * image.height;
    assert!(white < total * 97 / 100 && white > total / 2, "{white} of {total} pixels white");
    // Only the PNG is left in the directory: the temporary file was renamed.
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files, ["scatter.png"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The centroid of the pixels that differ between `a` and `b` inside the box `within` (x0, y0,
/// x1, y1; exclusive ends), and how many there are.
fn diff_centroid(a: &Image, b: &Image, within: (usize, usize, usize, usize)) -> (f64, f64, usize) {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0);
    for y in within.1..within.3.min(a.height) {
        for x in within.0..within.2.min(a.width) {
            if a.pixel(x, y) != b.pixel(x, y) {
                sx += x as f64;
                sy += y as f64;
                n += 1;
            }
        }
    }
    assert!(n > 0, "no pixel changed in {within:?}");
    (sx / n as f64, sy / n as f64, n)
}

/// Where a single point is drawn in a one-panel plot, found by comparing with the same panel
/// whose only pair is NaN (counted in n but not drawn, so the text is identical).
fn dot_at(dir: &Path, human: f64, predicted: f64) -> (f64, f64, usize, Image) {
    let none = [f64::NAN];
    let empty = render(&[Panel { title: "total", human: &none, predicted: &none }], dir, "empty.png");
    let image = render(&[Panel { title: "total", human: &[human], predicted: &[predicted] }], dir, "dot.png");
    let everywhere = (0, 0, image.width, image.height);
    let (x, y, n) = diff_centroid(&image, &empty, everywhere);
    (x, y, n, image)
}

#[test]
fn a_dot_lands_where_its_scores_say() {
    let dir = scratch("dot");
    let (x5, y5, n, image) = dot_at(&dir, 5.0, 5.0);
    // A small dot (radius ~3 px, so tens of pixels), near the middle of the panel.
    assert!((5..200).contains(&n), "{n} pixels changed");
    let (w, h) = (image.width as f64, image.height as f64);
    assert!((x5 - w / 2.0).abs() < 0.1 * w && (y5 - h / 2.0).abs() < 0.1 * h, "(5, 5) drawn at ({x5}, {y5}) in {w}x{h}");
    // Every changed pixel is within a few pixels of the centroid: one dot, nothing else.
    let empty = {
        let none = [f64::NAN];
        render(&[Panel { title: "total", human: &none, predicted: &none }], &dir, "empty2.png")
    };
    for y in 0..image.height {
        for x in 0..image.width {
            if image.pixel(x, y) != empty.pixel(x, y) {
                let d = ((x as f64 - x5).powi(2) + (y as f64 - y5).powi(2)).sqrt();
                assert!(d < 6.0, "pixel ({x}, {y}) changed, {d:.1} px from the dot");
            }
        }
    }
    // The dot is bluish and semi-transparent: not white, not black, blue above red.
    let centre = image.pixel(x5.round() as usize, y5.round() as usize);
    assert!(centre != [255, 255, 255] && centre[2] > centre[0] && centre[2] > 100, "dot colour {centre:?}");

    // The mapping is linear and oriented: x grows with the human score, y (upwards) with the
    // prediction, and (5, 5) is halfway between (0, 0) and (10, 10).
    let (x0, y0, ..) = dot_at(&dir, 0.0, 0.0);
    let (x10, y10, ..) = dot_at(&dir, 10.0, 10.0);
    let (xa, ya, ..) = dot_at(&dir, 10.0, 0.0);
    let (xb, yb, ..) = dot_at(&dir, 2.0, 8.0);
    assert!(x10 - x0 > 250.0 && y0 - y10 > 250.0, "(0,0) at ({x0}, {y0}), (10,10) at ({x10}, {y10})");
    assert!((x10 - x0 - (y0 - y10)).abs() < 1.5, "the plot area is square");
    let near = |a: f64, b: f64| (a - b).abs() < 1.0;
    assert!(near(x5, (x0 + x10) / 2.0) && near(y5, (y0 + y10) / 2.0), "(5,5) at ({x5}, {y5})");
    assert!(near(xa, x10) && near(ya, y0), "(10,0) at ({xa}, {ya})");
    assert!(near(xb, x0 + 0.2 * (x10 - x0)) && near(yb, y0 - 0.8 * (y0 - y10)), "(2,8) at ({xb}, {yb})");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn points_outside_the_scale_are_clamped_in_another_colour() {
    let dir = scratch("clamp");
    let (xa, ya, _, inside) = dot_at(&dir, 10.0, 0.0);
    let (_, _, _, outside) = dot_at(&dir, 12.5, -3.0);
    // Compare around (10, 0) only: the clamped panel also prints a note.
    let r = 12;
    let around = (xa as usize - r, ya as usize - r, xa as usize + r, ya as usize + r);
    let empty = {
        let none = [f64::NAN];
        render(&[Panel { title: "total", human: &none, predicted: &none }], &dir, "empty3.png")
    };
    let (xc, yc, _) = diff_centroid(&outside, &empty, around);
    assert!((xc - xa).abs() < 1.0 && (yc - ya).abs() < 1.0, "clamped dot at ({xc}, {yc}), (10,0) at ({xa}, {ya})");
    let (cx, cy) = (xa.round() as usize - 2, ya.round() as usize - 2); // inside the frame, off its lines
    assert_ne!(inside.pixel(cx, cy), outside.pixel(cx, cy), "clamped points look different");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn panels_are_laid_out_row_by_row() {
    let dir = scratch("grid");
    let none = [f64::NAN];
    let five = [5.0];
    let panel = |i: usize, point: bool| Panel {
        title: ["accuracy", "fluency", "prosody", "total"][i],
        human: if point { &five } else { &none },
        predicted: if point { &five } else { &none },
    };
    let empty: Vec<Panel> = (0..4).map(|i| panel(i, false)).collect();
    let empty = render(&empty, &dir, "empty.png");
    for target in 0..4 {
        let panels: Vec<Panel> = (0..4).map(|i| panel(i, i == target)).collect();
        let image = render(&panels, &dir, "one.png");
        let (x, y, _) = diff_centroid(&image, &empty, (0, 0, image.width, image.height));
        let (col, row) = ((x / (image.width as f64 / 2.0)) as usize, (y / (image.height as f64 / 2.0)) as usize);
        assert_eq!((col, row), (target % 2, target / 2), "panel {target}'s dot at ({x}, {y})");
    }
    // Three panels: still a 2x2 grid, the last cell blank.
    let three: Vec<Panel> = (0..3).map(|i| panel(i, false)).collect();
    let image = render(&three, &dir, "three.png");
    assert_eq!((image.width, image.height), (empty.width, empty.height));
    let blank = (image.width / 2..image.width).all(|x| (image.height / 2..image.height).all(|y| image.pixel(x, y) == [255; 3]));
    assert!(blank, "the fourth cell is empty");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn titles_are_drawn_above_the_plot() {
    let dir = scratch("title");
    let none = [f64::NAN];
    let a = render(&[Panel { title: "accuracy", human: &none, predicted: &none }], &dir, "a.png");
    let b = render(&[Panel { title: "fluency", human: &none, predicted: &none }], &dir, "b.png");
    let (_, y, n) = diff_centroid(&a, &b, (0, 0, a.width, a.height));
    let (_, y10, ..) = dot_at(&dir, 10.0, 10.0);
    assert!(n > 50 && y < y10 - 10.0, "title pixels: {n} around y = {y}, plot top at {y10}");
    // And the Pearson r line: a perfect correlation prints differently from an undefined one.
    let (h, p) = ([1.0, 5.0, 9.0], [2.0, 5.0, 8.0]);
    let r1 = render(&[Panel { title: "total", human: &h, predicted: &p }], &dir, "r1.png");
    let (h2, p2) = ([1.0, 5.0, 9.0], [9.0, 5.0, 1.0]);
    let r2 = render(&[Panel { title: "total", human: &h2, predicted: &p2 }], &dir, "r2.png");
    let (_, _, n) = diff_centroid(&r1, &r2, (0, 0, r1.width, y10 as usize - 10));
    assert!(n > 10, "r = 1.000 and r = -1.000 print differently");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_errors_name_the_path() {
    let dir = scratch("errors");
    let path = dir.join("bad.png");
    let err = scatter_png(&[], &path).unwrap_err();
    assert!(err.contains("bad.png"), "{err}");
    let err = scatter_png(&[Panel { title: "total", human: &[1.0, 2.0], predicted: &[1.0] }], &path).unwrap_err();
    assert!(err.contains("bad.png") && err.contains("total"), "{err}");
    // A path under a regular file cannot be written.
    std::fs::write(dir.join("file"), b"x").unwrap();
    let under = dir.join("file").join("plot.png");
    let err = scatter_png(&[Panel { title: "total", human: &[1.0], predicted: &[1.0] }], &under).unwrap_err();
    assert!(err.contains(&under.display().to_string()), "{err}");
    assert!(!path.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A report of the first version's four fields only (no speakers, intervals or subgroups).
fn sample_report() -> EvalReport {
    serde_json::from_value(serde_json::json!({
        "split": "test",
        "utterances": 2500,
        "pearson": [0.81234, null, 0.7, -0.05],
        "mse": [0.4531, 1.5, 12.0, 0.0626],
    }))
    .unwrap()
}

#[test]
fn report_json_round_trips_with_null_for_nan() {
    let dir = scratch("report");
    let report = sample_report();
    report.write(&dir).unwrap();
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["split"], "test");
    assert_eq!(value["utterances"], 2500);
    assert_eq!(value["pearson"], serde_json::json!([0.81234, null, 0.7, -0.05]));
    assert_eq!(value["mse"], serde_json::json!([0.4531, 1.5, 12.0, 0.0626]));
    let back: EvalReport = serde_json::from_str(&text).unwrap();
    assert_eq!((back.split.as_str(), back.utterances, back.mse), ("test", 2500, report.mse));
    assert!(back.pearson[1].is_nan());
    assert_eq!([back.pearson[0], back.pearson[2], back.pearson[3]], [0.81234, 0.7, -0.05]);
    assert_eq!(std::fs::read_to_string(dir.join("report.txt")).unwrap(), report.table());
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    files.sort();
    assert_eq!(files, ["report.json", "report.md", "report.txt"], "no temporary file left");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_table_lists_every_aspect_to_three_decimals() {
    let table = sample_report().table();
    println!("{table}");
    for name in ["accuracy", "fluency", "prosody", "total"] {
        assert_eq!(table.lines().filter(|l| l.starts_with(name)).count(), 1, "{name} row in\n{table}");
    }
    let row = |name: &str| table.lines().find(|l| l.starts_with(name)).unwrap().split_whitespace().skip(1).collect::<Vec<_>>();
    // Without intervals the interval columns read `-`.
    assert_eq!(row("accuracy"), ["0.812", "-", "0.453", "-"]);
    assert_eq!(row("fluency"), ["n/a", "-", "1.500", "-"]);
    assert_eq!(row("prosody"), ["0.700", "-", "12.000", "-"]);
    assert_eq!(row("total"), ["-0.050", "-", "0.063", "-"]);
    assert!(table.contains("Pearson r") && table.contains("MSE"));
    assert!(table.contains("2500") && table.contains("test"));
}

#[test]
fn report_from_scores_uses_the_metrics() {
    let h = [1.0, 2.0, 3.0, 4.0, 5.0];
    let p = [2.0, 4.0, 5.0, 4.0, 5.0];
    let flat = [3.0; 5];
    let report = EvalReport::compute("dev", [&h, &h, &h, &h], [&p, &flat, &h, &p]);
    assert_eq!(report.utterances, 5);
    assert!((report.pearson[0] - 0.774_596_7).abs() < 1e-6);
    assert!(report.pearson[1].is_nan(), "constant predictions: r undefined");
    assert!((report.pearson[2] - 1.0).abs() < 1e-12 && report.mse[2] == 0.0);
    assert_eq!(report.mse[1], 2.0);
    assert!(report.table().contains("n/a"));
}
