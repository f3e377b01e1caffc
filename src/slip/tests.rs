use heapless::Vec;

use super::*;

// Bare metal: `#[test]` is custom_test_frameworks' `#[test_case]` (src/lib.rs).
#[cfg(target_os = "none")]
use core::prelude::v1::test_case as test;

/// The line bytes of `frame`, as the encoder gives them.
fn encode(frame: &[u8]) -> Vec<u8, 600> {
    let mut enc = Encoder::new();
    let mut line = Vec::new();
    while let Some(b) = enc.next(frame) {
        line.push(b).unwrap();
    }
    line
}

/// What a frame decoder with a `cap`-byte buffer makes of `line`: each
/// frame's bytes or error, in order.
fn frames(line: &[u8], cap: usize) -> Vec<Result<Vec<u8, 300>, FrameError>, 8> {
    let mut dec = FrameDecoder::new();
    let mut buf = [0u8; 300];
    let mut got = Vec::new();
    for &b in line {
        if let Some(r) = dec.feed(b, &mut buf[..cap]) {
            let r = r.map(|n| Vec::from_slice(&buf[..n]).unwrap());
            got.push(r).unwrap();
        }
    }
    got
}

#[test]
fn every_byte_value_comes_back_as_sent() {
    let mut frame = [0u8; 256];
    for (v, b) in frame.iter_mut().enumerate() {
        *b = v as u8;
    }
    let line = encode(&frame);
    // An END each side, and END and ESC two bytes each.
    assert_eq!(line.len(), 256 + 2 + 2);
    let got = frames(&line, 256);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].as_deref(), Ok(&frame[..]));
}

#[test]
fn end_and_esc_inside_a_frame_go_as_two_bytes() {
    let line = encode(&[b'D', END, 1, ESC, ESC_END]);
    assert_eq!(
        line[..],
        [END, b'D', ESC, ESC_END, 1, ESC, ESC_ESC, ESC_END, END]
    );
    assert_eq!(escape(b'D').as_bytes(), [b'D']);
    assert_eq!(escape(END).as_bytes(), [ESC, ESC_END]);
}

#[test]
fn the_encoder_starts_over_after_a_frame() {
    let mut enc = Encoder::new();
    let mut line = Vec::<u8, 8>::new();
    for frame in [&[1u8][..], &[][..], &[2]] {
        while let Some(b) = enc.next(frame) {
            line.push(b).unwrap();
        }
    }
    assert_eq!(line[..], [END, 1, END, END, END, END, 2, END]);
}

#[test]
fn the_encoder_is_done_as_the_closing_end_is_given_not_a_call_later() {
    let frame = [ESC];
    let mut enc = Encoder::new();
    let mut done = Vec::<bool, 4>::new();
    while enc.next(&frame).is_some() {
        done.push(enc.is_done(&frame)).unwrap();
    }
    // END, ESC, ESC_ESC, END.
    assert_eq!(done[..], [false, false, false, true]);
}

#[test]
fn a_bad_escape_keeps_its_byte_and_is_counted() {
    let mut dec = Decoder::new();
    let got: Vec<_, 4> = [b'a', ESC, b'b', ESC, ESC, b'c']
        .iter()
        .filter_map(|&b| dec.feed(b))
        .collect();
    assert_eq!(
        got[..],
        [
            Decoded::Byte(b'a'),
            Decoded::Byte(b'b'),
            Decoded::Byte(ESC),
            Decoded::Byte(b'c')
        ]
    );
    assert_eq!(dec.bad_escapes(), 2);
}

#[test]
fn an_end_after_an_escape_still_ends_the_frame() {
    // A frame cut off after its ESC (the sender reset), then the next one:
    // two frames, not one.
    let mut dec = Decoder::new();
    let got: Vec<_, 4> = [b'a', ESC, END, b'b', END]
        .iter()
        .filter_map(|&b| dec.feed(b))
        .collect();
    let want = [
        Decoded::Byte(b'a'),
        Decoded::End,
        Decoded::Byte(b'b'),
        Decoded::End,
    ];
    assert_eq!(got[..], want);
    assert_eq!(dec.bad_escapes(), 1);
}

#[test]
fn a_frame_with_a_bad_escape_is_refused_and_the_next_one_arrives() {
    let mut line = Vec::<u8, 32>::from_slice(&[END, 5, ESC, 0x41, 6, END, 7, ESC, END]).unwrap();
    line.extend_from_slice(&encode(&[8, 9])).unwrap();
    let got = frames(&line, 64);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], Err(FrameError::BadEscape));
    assert_eq!(got[1], Err(FrameError::BadEscape));
    assert_eq!(got[2].as_deref(), Ok(&[8u8, 9][..]));
}

#[test]
fn a_frame_longer_than_the_buffer_is_too_long_and_nothing_is_written_past_it() {
    let mut line = encode(&[3; 9]);
    line.extend_from_slice(&encode(&[4; 8])).unwrap();
    let mut dec = FrameDecoder::new();
    let mut buf = [0u8; 9];
    let mut got = Vec::<_, 2>::new();
    for &b in &line {
        if let Some(r) = dec.feed(b, &mut buf[..8]) {
            got.push(r).unwrap();
        }
    }
    assert_eq!(got[..], [Err(FrameError::TooLong), Ok(8)]);
    assert_eq!(buf[8], 0);
}

#[test]
fn empty_frames_are_not_frames_and_noise_before_the_first_end_is_one() {
    // The ESP8266 ROM's boot text at the wrong baud rate, then END END.
    let mut line = Vec::<u8, 32>::from_slice(b"\x8a ets Jan  8").unwrap();
    line.extend_from_slice(&[END, END, END]).unwrap();
    let got = frames(&line, 64);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].as_deref(), Ok(&b"\x8a ets Jan  8"[..]));
}
