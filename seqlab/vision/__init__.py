"""Vision models: normalisation layers, classic CNNs, detection utilities, metric learning, style transfer."""
