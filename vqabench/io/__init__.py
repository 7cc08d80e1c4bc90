"""Video input/output and the ffmpeg process wrapper."""
