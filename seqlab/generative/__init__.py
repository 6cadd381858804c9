"""Autoencoders, the VAE and GANs on images, and distances between distributions.

    from seqlab.generative import GenerativeConfig, train_generative, load_model, sample_images
    summary = train_generative(GenerativeConfig(model="vae", epochs=50), "digits_vae", torch.device("cpu"))
    model, cfg, state = load_model("digits_vae")
    images = sample_images(model, 64, tuple(state["shape"]))          # (64, 1, 8, 8) in [0, 1]
"""

from seqlab.generative.autoencoder import Autoencoder, AutoencoderConfig
from seqlab.generative.config import GenerativeConfig
from seqlab.generative.data import ImageData, load_images
from seqlab.generative.distances import (
    kl_histogram,
    kl_normal,
    kl_normal_diagonal,
    ks_statistic,
    mahalanobis,
    mmd,
)
from seqlab.generative.gan import GAN, GANConfig, discriminator_loss, generator_loss
from seqlab.generative.models import load_model, sample_images
from seqlab.generative.plot import save_grid
from seqlab.generative.train import train_generative
from seqlab.generative.vae import VAE, VAEConfig

__all__ = ["GAN", "VAE", "Autoencoder", "AutoencoderConfig", "GANConfig", "GenerativeConfig", "ImageData",
           "VAEConfig", "discriminator_loss", "generator_loss", "kl_histogram", "kl_normal", "kl_normal_diagonal",
           "ks_statistic", "load_images", "load_model", "mahalanobis", "mmd", "sample_images", "save_grid",
           "train_generative"]
