"""A waveform picture of a WAV file as inline SVG, drawn on the server.

One column per horizontal pixel holds the minimum and maximum sample under it;
the outline of those extremes is a single closed path. The file is read one
column at a time, so a 30-minute master costs a few KB of memory. The scale is
full scale (not auto-zoomed) so a too-quiet or clipped recording looks it.
"""
import os
import sys
import warnings
import wave

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop: see trim.py
    import audioop


def column_extremes(wav_path, columns):
    """[(min, max), ...] per column, each in [-1.0, 1.0]; fewer columns for very short files."""
    if columns < 1:
        raise ValueError("columns must be at least 1")
    with wave.open(os.fspath(wav_path), "rb") as w:
        width, n = w.getsampwidth(), w.getnframes()  # channels interleave: fine for a picture
        columns = min(columns, n)
        full = float(1 << (8 * width - 1))
        out = []
        done = 0
        for col in range(columns):
            end = (col + 1) * n // columns
            data = w.readframes(end - done)
            done = end
            if width == 1:
                data = audioop.bias(data, 1, -128)  # 8-bit WAV is unsigned
            if sys.byteorder == "big" and width > 1:
                data = audioop.byteswap(data, width)
            lo, hi = audioop.minmax(data, width) if data else (0, 0)
            out.append((lo / full, hi / full))
    return out


def waveform_svg(wav_path, width=600, height=80):
    """SVG markup (a string) of the waveform of the WAV at `wav_path`."""
    if width < 1 or height < 2:
        raise ValueError("waveform needs width >= 1 and height >= 2")
    with wave.open(os.fspath(wav_path), "rb") as w:
        duration = w.getnframes() / w.getframerate()
    extremes = column_extremes(wav_path, width)
    mid = height / 2
    step = width / max(1, len(extremes))
    top = [f"{i * step:.1f},{mid - hi * mid:.1f}" for i, (_lo, hi) in enumerate(extremes)]
    bottom = [f"{i * step:.1f},{mid - lo * mid:.1f}"
              for i, (lo, _hi) in reversed(list(enumerate(extremes)))]
    points = " L".join(top + bottom)
    # The stroke keeps a hairline visible through silence, so the picture never looks empty.
    path = (f'<path class="wave" d="M{points} Z" fill="currentColor" stroke="currentColor" '
            f'stroke-width="0.6"/>') if extremes else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="waveform" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="none" role="img" '
        f'aria-label="Waveform, {duration:.1f} seconds">'
        f"<title>{duration:.1f} s</title>"
        f'<line x1="0" y1="{mid:.1f}" x2="{width}" y2="{mid:.1f}" stroke="currentColor" '
        f'stroke-opacity="0.3" stroke-width="0.5"/>'
        f"{path}</svg>"
    )
