//! `host-cli inspect` and `host-cli spectrogram -o`, run as a binary.

mod support;

use support::*;

#[test]
fn inspect_the_bundled_model() {
    let output = host_cli(["inspect"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for needle in [
        "bundled model",
        "CRC-32",
        "Composer network",
        "Instrument network",
        "MACs",
        "scratch",
        "flash",
        "Quantization: int8 weights, symmetric, one scale per output channel",
        "front end: 8000 Hz",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }

    let summary = json(&host_cli(["inspect", "--json"]));
    assert!(!summary["composers"].as_array().unwrap().is_empty());
    assert!(summary["macs_per_inference"].as_u64().unwrap() > 0);
    assert!(summary["scratch_bytes"].as_u64().unwrap() > 0);
    assert_eq!(summary["flash_bytes"], summary["file_bytes"]);
    assert_eq!(summary["crc32"].as_str().unwrap().len(), 8);
    assert_eq!(summary["front_end"]["sample_rate_hz"], 8000);
}

#[test]
fn inspect_counts_a_known_model_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = tone_model(4);
    let path = dir.path().join("tone.cmpcls");
    std::fs::write(&path, &bytes).unwrap();
    let summary = json(&host_cli([
        "inspect".as_ref(),
        "--json".as_ref(),
        path.as_os_str(),
    ]));
    // pool (4 channels) -> 2 x 1 x 4 -> flatten 8 -> linear 8 -> 2, twice.
    let layers = summary["composer_network"]["layers"].as_array().unwrap();
    let kinds: Vec<&str> = layers.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["maxpool2d", "flatten", "linear"]);
    assert_eq!(layers[0]["output"], serde_json::json!([2, 1, 4]));
    assert_eq!(layers[2]["parameters"], 8 * 2 + 2);
    assert_eq!(summary["parameters"], 2 * (8 * 2 + 2));
    assert_eq!(summary["macs_per_inference"], 2 * 8 * 2);
    assert_eq!(summary["input"]["stack"], 4);
    assert_eq!(summary["file_bytes"], bytes.len());
    let crc = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap());
    assert_eq!(summary["crc32"], format!("{crc:08x}"));
    assert_eq!(summary["composers"], serde_json::json!(["Bach", "Mozart"]));
    // Scratch: input 4 x 128 x 312 plus the pooled output.
    assert_eq!(summary["scratch_bytes"], 4 * 128 * 312 + 8);
}

#[test]
fn spectrogram_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    write_wav(&wav, 8000, &tone(1000.0, 24_000, 0.5));
    let png = dir.path().join("out").join("tone.png");
    let output = host_cli([
        "spectrogram".as_ref(),
        wav.as_os_str(),
        "-o".as_ref(),
        png.as_os_str(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("features sha256"));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 10_000, "a real image: {} bytes", bytes.len());
    let leftovers: Vec<_> = std::fs::read_dir(png.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "tone.png")
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );

    let report = json(&host_cli([
        "spectrogram".as_ref(),
        "--json".as_ref(),
        wav.as_os_str(),
        "-o".as_ref(),
        png.as_os_str(),
    ]));
    assert_eq!(report["frames"], (24_000 - 256) / 128 + 1);
    assert_eq!(report["png"], png.display().to_string());
}
