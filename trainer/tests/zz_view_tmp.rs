use trainer::plot::{Panel, scatter_png};
#[test]
fn view() {
    let mut s = 7u64;
    let mut next = move || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 11) as f64 / (1u64 << 53) as f64 };
    let mut data = Vec::new();
    for k in 0..4 {
        let h: Vec<f64> = (0..2500).map(|_| ((next()*6.0 + next()*4.0 + 1.0)*2.0).round()/2.0).collect();
        let p: Vec<f64> = h.iter().map(|x| x*0.8 + 1.0 + (next()+next()-1.0)*(1.0 + k as f64)).collect();
        data.push((h, p));
    }
    let names = ["accuracy", "fluency", "prosody", "total"];
    let panels: Vec<Panel> = names.iter().zip(&data).map(|(t,(h,p))| Panel{title:t, human:h, predicted:p}).collect();
    scatter_png(&panels, std::path::Path::new("/tmp/view/scatter.png")).unwrap();
    let all = "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 .,:=-+_/()?";
    let one = [f64::NAN];
    scatter_png(&[Panel{title: all, human:&one, predicted:&one}], std::path::Path::new("/tmp/view/one.png")).unwrap();
    let c = [f64::NAN];
    let _ = c;
}
