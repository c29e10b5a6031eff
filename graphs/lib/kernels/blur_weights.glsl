// Gaussian weights for the separable blur (included by blur.comp):
// sigma = radius / 2, not normalised (the kernel divides by their sum).
float blur_weight(int d, int radius) {
    float sigma = max(float(radius) * 0.5, 0.5);
    return exp(-float(d * d) / (2.0 * sigma * sigma));
}
