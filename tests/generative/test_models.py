"""Autoencoder, VAE and GAN losses and gradients against hand computation and autograd."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.errors import ConfigError
from seqlab.generative.autoencoder import Autoencoder, AutoencoderConfig, corrupt, kl_sparsity
from seqlab.generative.gan import GAN, GANConfig, discriminator_loss, generator_loss
from seqlab.generative.vae import VAE, VAEConfig, reparameterize


def _ae(**kw) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(AutoencoderConfig(input_size=6, code_size=4, hidden_size=5, **kw)).double()


def test_reconstruction_loss_and_its_gradient_by_hand():
    model = _ae()
    x = torch.rand(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    loss, parts = model.loss(x)
    h = torch.sigmoid(x @ model.encoder[0].weight.T + model.encoder[0].bias)
    logits = h @ model.decoder[0].weight.T + model.decoder[0].bias
    p = torch.sigmoid(logits)
    hand = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(1).mean()
    assert loss.item() == pytest.approx(hand.item(), rel=1e-12)
    loss.backward()
    # d/d(decoder bias) of mean BCE summed over pixels is mean over the batch of (p - x)
    assert torch.allclose(model.decoder[0].bias.grad, (p - x).mean(0), rtol=1e-10)
    assert set(parts) == {"reconstruction"}


def test_gaussian_likelihood_is_half_squared_error():
    model = _ae(likelihood="gaussian")
    x = torch.rand(2, 6, dtype=torch.float64)
    out = model.decode(model.encode(x))
    loss, _ = model.loss(x)
    assert loss.item() == pytest.approx((0.5 * (x - out).square().sum(1).mean()).item(), rel=1e-12)


def test_sparsity_penalties_and_the_kl_gradient_by_hand():
    x = torch.rand(8, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    l1 = _ae(sparsity="l1", sparsity_weight=0.3)
    _, parts = l1.loss(x)
    assert float(parts["sparsity"]) == pytest.approx(0.3 * l1.encode(x).abs().sum(1).mean().item(), rel=1e-12)
    codes = torch.rand(8, 4, dtype=torch.float64).requires_grad_()
    rho = 0.1
    penalty = kl_sparsity(codes, rho)
    rho_hat = codes.detach().mean(0)
    hand = (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
    assert penalty.item() == pytest.approx(hand.item(), rel=1e-12)
    penalty.backward()
    # dKL/d rho_hat = -rho/rho_hat + (1-rho)/(1-rho_hat), and d rho_hat / d h_ij = 1/batch
    expected = (-rho / rho_hat + (1 - rho) / (1 - rho_hat)) / 8
    assert torch.allclose(codes.grad, expected.expand(8, 4), rtol=1e-10)
    with pytest.raises(ConfigError, match="sigmoid"):
        AutoencoderConfig(sparsity="kl", activation="relu").validate()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_contractive_penalty_exact_equals_autograd_jacobian(activation):
    model = _ae(activation=activation)
    x = torch.rand(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    exact = model.contractive_penalty(x, exact=True)
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: model.encode(v.unsqueeze(0))[0], row)
                       for row in x])
    assert torch.allclose(exact, jac.square().sum((1, 2)), rtol=1e-10)
    assert torch.allclose(model.contractive_penalty(x, exact=False), exact, rtol=1e-10)
    # and their gradients with respect to the weights agree
    g_exact = torch.autograd.grad(exact.sum(), model.encoder[0].weight)[0]
    g_auto = torch.autograd.grad(model.contractive_penalty(x, exact=False).sum(), model.encoder[0].weight)[0]
    assert torch.allclose(g_exact, g_auto, rtol=1e-8)


def test_contractive_penalty_of_a_deep_encoder_and_gradcheck():
    model = _ae(num_layers=1, contractive_weight=0.5)
    x = torch.rand(3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with pytest.raises(ConfigError, match="one-layer"):
        model.contractive_penalty(x, exact=True)
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: model.encode(v.unsqueeze(0))[0], row)
                       for row in x])
    assert torch.allclose(model.contractive_penalty(x), jac.square().sum((1, 2)), rtol=1e-10)
    assert torch.autograd.gradcheck(lambda v: model.contractive_penalty(v), (x.clone().requires_grad_(),))
    loss, parts = model.loss(x)
    assert "contractive" in parts and loss.item() > float(parts["reconstruction"])


def test_tied_weights_share_the_encoder_matrix():
    model = _ae(tied=True, num_layers=1)
    names = {n for n, _ in model.named_parameters()}
    assert not any(n.startswith("decoder.") for n in names)
    x = torch.rand(2, 6, dtype=torch.float64)
    h = model.encode(x)
    w0, w1 = model.encoder[0].weight, model.encoder[1].weight
    hidden = torch.sigmoid(h @ w1 + model.decoder_bias[0])
    assert torch.allclose(model.decode(h), hidden @ w0 + model.decoder_bias[1])
    assert len(list(model.parameters())) == 6  # 2 encoder weights + 2 encoder biases + 2 decoder biases


def test_corruption_noise():
    gen = torch.Generator().manual_seed(0)
    x = torch.ones(200, 50)
    masked = corrupt(x, "masking", 0.3, gen)
    assert set(masked.unique().tolist()) <= {0.0, 1.0}
    assert abs(float((masked == 0).float().mean()) - 0.3) < 0.02
    noisy = corrupt(x, "gaussian", 0.5, gen)
    assert abs(float((noisy - x).std()) - 0.5) < 0.02
    assert corrupt(x, "none", 0.5, gen) is x


def test_vae_elbo_by_hand_and_reparameterised_gradients():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_size=6, latent_size=2, hidden_size=5)).double()
    x = torch.rand(4, 6, dtype=torch.float64)
    rec, kl = model.elbo(x, torch.Generator().manual_seed(7))
    mean, logvar = model.encode(x)
    eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    z = mean + torch.exp(0.5 * logvar) * eps
    p = torch.sigmoid(model.decode(z))
    hand_rec = (x * p.log() + (1 - x) * (1 - p).log()).sum(1)
    hand_kl = -0.5 * (1 + logvar - mean.square() - logvar.exp()).sum(1)
    assert torch.allclose(rec, hand_rec, rtol=1e-10) and torch.allclose(kl, hand_kl, rtol=1e-12)
    # the reparameterisation: dz/dmean = 1, dz/dlogvar = eps exp(logvar/2) / 2
    m, lv = torch.zeros(3, dtype=torch.float64, requires_grad=True), torch.ones(3, dtype=torch.float64,
                                                                                  requires_grad=True)
    zz = reparameterize(m, lv, torch.Generator().manual_seed(1))
    zz.sum().backward()
    e = torch.randn(3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.allclose(m.grad, torch.ones(3, dtype=torch.float64))
    assert torch.allclose(lv.grad, 0.5 * e * math.exp(0.5))


def test_vae_analytic_kl_matches_monte_carlo():
    torch.manual_seed(1)
    model = VAE(VAEConfig(input_size=6, latent_size=3, hidden_size=5)).double()
    x = torch.rand(2, 6, dtype=torch.float64)
    _, kl = model.elbo(x)
    mean, logvar = model.encode(x)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    z = q.sample((200_000,))
    monte_carlo = (q.log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(kl.detach(), monte_carlo, rtol=0.02)


def test_vae_gaussian_decoder_beta_sampling_and_interpolation():
    torch.manual_seed(2)
    model = VAE(VAEConfig(input_size=6, latent_size=2, hidden_size=5, decoder="gaussian", beta=4.0)).double()
    x = torch.rand(3, 6, dtype=torch.float64)
    out = model.decode(model.encode(x)[0])
    expected = torch.distributions.Normal(out, torch.exp(0.5 * model.logvar_x)).log_prob(x).sum(1)
    assert torch.allclose(model.log_likelihood(out, x), expected, rtol=1e-10)
    gen = torch.Generator().manual_seed(3)
    rec, kl = model.elbo(x, gen)
    loss, _ = model.loss(x, torch.Generator().manual_seed(3))
    assert loss.item() == pytest.approx((-(rec - 4.0 * kl).mean()).item(), rel=1e-12)
    model = model.float()
    assert model.sample(5, gen).shape == (5, 6)
    path = model.interpolate(x[0].float(), x[1].float(), steps=4)
    assert path.shape == (4, 6)
    ends = model.decode(torch.cat([model.encode(x[:1].float())[0], model.encode(x[1:2].float())[0]]))
    assert torch.allclose(path[[0, -1]], ends, atol=1e-6)


def test_gan_losses_and_their_logit_gradients_by_hand():
    real = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    fake = torch.tensor([-0.3, 1.5], dtype=torch.float64, requires_grad=True)
    d_loss = discriminator_loss(real, fake)
    dr, df = torch.sigmoid(real.detach()), torch.sigmoid(fake.detach())
    assert d_loss.item() == pytest.approx((-torch.log(dr).mean() - torch.log(1 - df).mean()).item(), rel=1e-12)
    d_loss.backward()
    assert torch.allclose(real.grad, -(1 - dr) / 3) and torch.allclose(fake.grad, df / 2)
    fake.grad = None
    g_loss = generator_loss(fake, non_saturating=True)
    assert g_loss.item() == pytest.approx((-torch.log(df).mean()).item(), rel=1e-12)
    g_loss.backward()
    assert torch.allclose(fake.grad, -(1 - df) / 2)  # strong while D rejects the fakes (df -> 0)
    fake.grad = None
    saturating = generator_loss(fake, non_saturating=False)
    assert saturating.item() == pytest.approx((torch.log(1 - df).mean()).item(), rel=1e-12)
    saturating.backward()
    assert torch.allclose(fake.grad, -df / 2)  # vanishes as df -> 0


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_gan_shapes_and_one_alternating_step(architecture):
    torch.manual_seed(0)
    gan = GAN(GANConfig(image_size=8, latent_size=4, architecture=architecture, hidden_size=16, base_channels=8))
    real = torch.rand(6, 1, 8, 8)
    images = gan.sample(5, torch.Generator().manual_seed(0))
    assert images.shape == (5, 1, 8, 8) and 0 <= float(images.min()) and float(images.max()) <= 1
    opt_d = torch.optim.SGD(gan.discriminator.parameters(), lr=0.1)
    opt_g = torch.optim.SGD(gan.generator.parameters(), lr=0.1)
    g_before = [p.clone() for p in gan.generator.parameters()]
    out = gan.step(real, opt_d, opt_g, torch.Generator().manual_seed(1), d_steps=2)
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert any(not torch.equal(a, b) for a, b in zip(g_before, gan.generator.parameters(), strict=True))
    with pytest.raises(ConfigError, match="multiple of 4"):
        GANConfig(image_size=10, architecture="conv").validate()
