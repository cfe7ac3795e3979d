"""Audio pipeline for notices: sniff, decode, trim, normalise, render, synthesise, draw.

Free of Flask on purpose: the web app, the scheduler process and the CLI all call it.

    from audio.process import process_upload      # upload -> ProcessedAudio
    from audio.errors import AudioRejected        # .code for the UI, .message in English
    from audio.tts import synthesize               # text -> draft WAV (espeak-ng)
    from audio.waveform import waveform_svg        # WAV -> inline SVG picture
"""
