"""Settings of a generative run: data, model (ae, vae or gan), training (one flat TOML table, [generative])."""

from __future__ import annotations

from dataclasses import dataclass

from seqlab.config import learning_rate_check, setting
from seqlab.errors import ConfigError
from seqlab.generative.autoencoder import AutoencoderConfig
from seqlab.generative.gan import GANConfig
from seqlab.generative.vae import VAEConfig

MODELS = ("ae", "vae", "gan")


@dataclass(frozen=True)
class GenerativeConfig:
    """Defaults: a VAE on scikit-learn's digits, Adam at Kingma & Welling's scale of network."""

    # data: "digits", an image folder or a .npy array; image_size 0 keeps the images' size
    data: str = "digits"
    image_size: int = 0
    binarize: bool = False
    test_fraction: float = 0.2
    valid_fraction: float = 0.1
    # model
    model: str = "vae"
    latent_size: int = 8  # the code (ae) or latent (vae, gan) size
    hidden_size: int = 256
    num_layers: int = 1  # ae, vae: hidden layers of the encoder (mirrored in the decoder)
    likelihood: str = "bernoulli"  # ae, vae: bernoulli or gaussian decoder
    # ae
    activation: str = "sigmoid"
    tied: bool = False
    sparsity: str = "none"
    sparsity_weight: float = 1e-3
    sparsity_target: float = 0.05
    noise: str = "none"
    noise_level: float = 0.3
    contractive_weight: float = 0.0
    # vae
    beta: float = 1.0
    # gan
    architecture: str = "mlp"
    base_channels: int = 32
    non_saturating: bool = True
    d_steps: int = 1
    lr_d: float = 0.0  # discriminator learning rate (0: the same as lr)
    adam_beta1: float = 0.9  # 0.5 for GANs (Radford et al. 2016)
    eval_samples: int = 500  # gan: samples compared with the validation set (MMD) to pick the best epoch
    # training
    epochs: int = setting(100, "Training epochs.", flag=True)
    batch_size: int = setting(64, "Images per batch.", flag=True)
    lr: float = setting(1e-3, "Adam learning rate.", flag=True)
    checkpoint_minutes: float = 10.0
    seed: int = setting(1, "Random seed.", flag=True)

    def validate(self) -> None:
        checks = [
            (self.model in MODELS, f"model must be one of {', '.join(MODELS)}, got {self.model!r}"),
            (self.epochs >= 1 and self.batch_size >= 1 and self.d_steps >= 1,
             "epochs, batch_size and d_steps must be >= 1"),
            learning_rate_check(self.lr),
            learning_rate_check(self.lr_d, "lr_d", zero_ok=True),
            (0 <= self.adam_beta1 < 1, "adam_beta1 must be in [0, 1)"),
            (self.image_size >= 0 and self.eval_samples >= 2, "image_size must be >= 0 and eval_samples >= 2"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        self.model_config((1, self.image_size or 8, self.image_size or 8)).validate()

    def model_config(self, shape: tuple[int, int, int]) -> AutoencoderConfig | VAEConfig | GANConfig:
        """The architecture's config for images shaped (C, H, W)."""
        c, h, w = shape
        if self.model == "ae":
            return AutoencoderConfig(
                input_size=c * h * w, code_size=self.latent_size, hidden_size=self.hidden_size,
                num_layers=self.num_layers, activation=self.activation, likelihood=self.likelihood, tied=self.tied,
                sparsity=self.sparsity, sparsity_weight=self.sparsity_weight, sparsity_target=self.sparsity_target,
                noise=self.noise, noise_level=self.noise_level, contractive_weight=self.contractive_weight)
        if self.model == "vae":
            return VAEConfig(input_size=c * h * w, latent_size=self.latent_size, hidden_size=self.hidden_size,
                             num_layers=self.num_layers, decoder=self.likelihood, beta=self.beta)
        if h != w:
            raise ConfigError(f"the GAN makes square images; these are {h}x{w} (set image_size)")
        return GANConfig(image_size=h, channels=c, latent_size=self.latent_size, architecture=self.architecture,
                         hidden_size=self.hidden_size, base_channels=self.base_channels,
                         non_saturating=self.non_saturating)
