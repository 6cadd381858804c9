"""Autoencoders, the VAE and GANs on images, and distances between distributions.

    from seqlab.generative import GenerativeConfig, train_generative, load_model, sample_images
    summary = train_generative(GenerativeConfig(model="vae", epochs=50), "digits_vae", torch.device("cpu"))
    model, cfg, state = load_model("digits_vae", device="auto")
    images = sample_images(model, 64, tuple(state["shape"]))          # (64, 1, 8, 8) in [0, 1]

Names load on first use.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "autoencoder": ["Autoencoder", "AutoencoderConfig"],
    "config": ["GenerativeConfig"],
    "data": ["ImageData", "load_images"],
    "distances": ["kl_histogram", "kl_normal", "kl_normal_diagonal", "ks_statistic", "mahalanobis", "mmd"],
    "gan": ["GAN", "GANConfig", "discriminator_loss", "generator_loss"],
    "models": ["load_model", "sample_images"],
    "plot": ["save_grid"],
    "train": ["train_generative"],
    "vae": ["VAE", "VAEConfig"],
})
