//! The data-set cache: a round trip returns the same data, a damaged file is detected and
//! replaced (never trusted), the key follows the settings, and caching can be turned off.

use std::fs;
use std::path::Path;

use contrast_env::{
    Cache, CacheStatus, Error, GenerationSettings, System, cache_file, cache_key, generate,
    load_or_generate, read_splits,
};

fn small() -> GenerationSettings {
    let mut s = GenerationSettings::new(System::CartPole);
    s.train_transitions = 1500;
    s.test_transitions = 400;
    s.seed = 5;
    s
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_round_trip_returns_the_generated_data() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::Dir(dir.path().join("contrast"));
    let s = small();
    let (first, status) = load_or_generate(&s, &cache).unwrap();
    let path = cache_file(&dir.path().join("contrast"), &s);
    assert_eq!(status, CacheStatus::Written(path.clone()));
    let (second, status) = load_or_generate(&s, &cache).unwrap();
    assert_eq!(status, CacheStatus::Hit(path.clone()));
    assert_eq!(first, second);
    assert_eq!(first, generate(&s).unwrap());
    // Only the finished file is left: no temporary files.
    assert_eq!(
        files(path.parent().unwrap()),
        vec![path.file_name().unwrap().to_string_lossy().into_owned()]
    );
    // The frame stack is not part of the key: a hit, with the stack asked for.
    let mut k3 = s.clone();
    k3.frame_stack = 3;
    let (third, status) = load_or_generate(&k3, &cache).unwrap();
    assert_eq!(status, CacheStatus::Hit(path));
    assert_eq!(third.train.frame_stack(), 3);
    assert_eq!(third.train.states(), first.train.states());
}

#[test]
fn the_key_follows_every_generation_setting() {
    let s = small();
    let changes: [fn(&mut GenerationSettings); 10] = [
        |s| s.system = System::MountainCar,
        |s| s.height = 41,
        |s| s.width = 65,
        |s| s.antialias = false,
        |s| s.distractors = true,
        |s| s.train_transitions += 1,
        |s| s.test_transitions += 1,
        |s| s.heuristic_fraction = 0.25,
        |s| s.epsilon = 0.2,
        |s| s.seed += 1,
    ];
    let dir = Path::new("/cache");
    let mut names = vec![cache_file(dir, &s)];
    for change in &changes {
        let mut t = s.clone();
        change(&mut t);
        assert_ne!(cache_key(&t), cache_key(&s));
        let name = cache_file(dir, &t);
        assert!(!names.contains(&name), "{name:?}");
        names.push(name);
    }
    let mut k = s.clone();
    k.frame_stack = 4;
    assert_eq!(cache_key(&k), cache_key(&s));
}

/// Damages the cache file with `damage`, then checks that loading detects it, regenerates
/// equal data and leaves an intact file behind.
fn check_damage(damage: impl Fn(&mut Vec<u8>)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::Dir(dir.path().to_path_buf());
    let s = small();
    let (original, _) = load_or_generate(&s, &cache).unwrap();
    let path = cache_file(dir.path(), &s);
    let mut bytes = fs::read(&path).unwrap();
    damage(&mut bytes);
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        read_splits(&path, &s),
        Err(Error::CorruptCache { .. })
    ));
    let (again, status) = load_or_generate(&s, &cache).unwrap();
    assert_eq!(again, original);
    let CacheStatus::Replaced { path: p, reason } = status else {
        panic!("damage not detected: {status:?}");
    };
    assert_eq!(p, path);
    assert_eq!(
        load_or_generate(&s, &cache).unwrap().1,
        CacheStatus::Hit(path)
    );
    reason
}

#[test]
fn corrupt_files_are_detected_and_replaced() {
    // A flipped bit in the compressed payload.
    let reason = check_damage(|b| {
        let i = b.len() / 2;
        b[i] ^= 0x10;
    });
    assert!(!reason.is_empty());
    // A truncated file.
    check_damage(|b| b.truncate(b.len() * 2 / 3));
    // Trailing garbage.
    check_damage(|b| b.extend_from_slice(b"more"));
    // Not a cache file at all.
    let reason = check_damage(|b| *b = b"hello".to_vec());
    assert!(
        reason.contains("header") || reason.contains("not a contrast-env"),
        "{reason}"
    );
    // Another version.
    let reason = check_damage(|b| b[6] = b[6].wrapping_add(1));
    assert!(reason.contains("version"), "{reason}");
}

#[test]
fn a_damaged_payload_with_intact_gzip_is_caught_by_the_checksum() {
    // Re-compress a payload with one byte changed: gzip's own CRC is then valid, so only
    // our checksum can catch it.
    use flate2::read::GzDecoder;
    use std::io::{Read, Write};
    let reason = check_damage(|b| {
        let mut payload = Vec::new();
        GzDecoder::new(&b[8..]).read_to_end(&mut payload).unwrap();
        let i = payload.len() - 100; // inside the test split's frames
        payload[i] ^= 1;
        let mut gz = flate2::write::GzEncoder::new(b[..8].to_vec(), flate2::Compression::fast());
        gz.write_all(&payload).unwrap();
        *b = gz.finish().unwrap();
    });
    assert!(reason.contains("checksum"), "{reason}");
}

#[test]
fn a_file_for_other_settings_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let s = small();
    let mut other = s.clone();
    other.seed += 1;
    load_or_generate(&other, &Cache::Dir(dir.path().to_path_buf())).unwrap();
    // Put the other settings' file under this key's name.
    fs::rename(cache_file(dir.path(), &other), cache_file(dir.path(), &s)).unwrap();
    let err = read_splits(&cache_file(dir.path(), &s), &s).unwrap_err();
    assert!(err.to_string().contains("other settings"), "{err}");
}

#[test]
fn disabled_caching_writes_nothing_and_bad_settings_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, status) = load_or_generate(&small(), &Cache::Disabled).unwrap();
    assert_eq!(status, CacheStatus::Disabled);
    let mut bad = small();
    bad.frame_stack = 0;
    let cache = Cache::Dir(dir.path().join("c"));
    assert!(matches!(
        load_or_generate(&bad, &cache),
        Err(Error::ZeroFrameStack)
    ));
    assert!(!dir.path().join("c").exists());
}

#[test]
fn an_unwritable_cache_still_returns_the_data() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the cache directory should be.
    let blocked = dir.path().join("blocked");
    fs::write(&blocked, b"").unwrap();
    let (data, status) = load_or_generate(&small(), &Cache::Dir(blocked)).unwrap();
    assert!(
        matches!(status, CacheStatus::WriteFailed { .. }),
        "{status:?}"
    );
    assert_eq!(data, generate(&small()).unwrap());
}
