// Shared lighting: spherical-harmonics ambient + one directional key light, metallic-roughness
// BRDF (GGX / Smith / Schlick). All vectors in camera space (x right, y down, z forward).

uniform vec3 u_sh[9];          // radiance SH coefficients (linear RGB), order L00, L1-1, L10, L11, L2-2, L2-1, L20, L21, L22
uniform vec3 u_light_dir;      // unit direction towards the key light (normalised by the renderer)
uniform vec3 u_light_color;    // key light radiance (linear RGB)

const float PI = 3.14159265359;

vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c));
}

// Highlights roll off instead of clipping: linear up to 0.8, then a soft shoulder to 1.
vec3 soft_clip(vec3 c) {
    vec3 over = max(c - 0.8, 0.0);
    return min(c, 0.8) + 0.2 * over / (over + 0.2);
}

// The sRGB curve's power 1/2.4 from three square roots (a software rasterizer's pow is two
// polynomials, its sqrt one instruction): within 0.4 of a level of the exact curve.
vec3 linear_to_srgb(vec3 c) {
    c = clamp(soft_clip(max(c, 0.0)), 0.0, 1.0);
    vec3 s1 = sqrt(c), s2 = sqrt(s1), s3 = sqrt(s2);
    return mix(c * 12.92, 0.585122381 * s1 + 0.783140355 * s2 - 0.368262736 * s3, step(0.0031308, c));
}

// Irradiance E(n) from radiance SH (Ramamoorthi & Hanrahan 2001), split into its even part
// (bands 0 and 2: the same at -n) and its odd part (band 1: negated at -n), so a surface's back
// side costs an add: E(n) = even + odd, E(-n) = even - odd (the same sums, in the same order).
void sh_irradiance_parts(vec3 n, out vec3 even, out vec3 odd) {
    const float c1 = 0.429043, c2 = 0.511664, c3 = 0.743125, c4 = 0.886227, c5 = 0.247708;
    float x = n.x, y = n.y, z = n.z;
    even = c1 * u_sh[8] * (x * x - y * y) + c3 * u_sh[6] * z * z + c4 * u_sh[0] - c5 * u_sh[6]
         + 2.0 * c1 * (u_sh[4] * x * y + u_sh[7] * x * z + u_sh[5] * y * z);
    odd = 2.0 * c2 * (u_sh[3] * x + u_sh[1] * y + u_sh[2] * z);
}

vec3 sh_irradiance(vec3 n) {
    vec3 even, odd;
    sh_irradiance_parts(n, even, odd);
    return even + odd;
}

vec3 fresnel_schlick(float cos_theta, vec3 f0, float roughness) {
    float m = 1.0 - cos_theta, m2 = m * m;
    return f0 + (max(vec3(1.0 - roughness), f0) - f0) * (m2 * m2 * m);
}

// KHR_materials_sheen: the Charlie distribution (Estevez & Kulla 2017) and Neubelt's visibility.
float d_charlie(float sheen_roughness, float ndh) {
    float inv = 1.0 / max(sheen_roughness * sheen_roughness, 1e-3);
    float sin2 = max(1.0 - ndh * ndh, 0.0078125);
    return (2.0 + inv) * pow(sin2, inv * 0.5) / (2.0 * PI);
}

// The sheen lobe's directional albedo, roughly (it grows toward grazing angles).
float sheen_albedo(float ndv) {
    float m = 1.0 - ndv, m2 = m * m;
    return 0.03 + 0.3 * m2 * m2;
}

// Fibres' soft rim: the sheen lobe lit by the key light and, roughly, by the ambient light.
// The base layer under it is scaled by 1 - max(sheen colour) * albedo (KHR_materials_sheen).
vec3 sheen(vec3 sheen_color, float sheen_roughness, vec3 n, vec3 v, vec3 irradiance) {
    vec3 l = u_light_dir;
    vec3 h = normalize(l + v);
    float ndl = max(dot(n, l), 0.0);
    float ndv = max(dot(n, v), 1e-4);
    float vis = clamp(1.0 / (4.0 * (ndl + ndv - ndl * ndv)), 0.0, 1.0);
    vec3 direct = sheen_color * d_charlie(sheen_roughness, max(dot(n, h), 0.0)) * vis * u_light_color * ndl;
    return direct + sheen_color * sheen_albedo(ndv) * max(irradiance, 0.0) / PI;
}

// Outgoing radiance towards v for a surface with normal n (both unit, camera space).
// env_specular: prefiltered radiance arriving along the reflection direction.
// irradiance: the SH irradiance at n (computed per vertex: the ambient light varies slowly,
// and the fragment stage is what a software rasterizer pays for).
vec3 shade(vec3 albedo, vec3 n, vec3 v, float metallic, float roughness, float ao, vec3 env_specular,
           vec3 irradiance) {
    roughness = clamp(roughness, 0.04, 1.0);
    vec3 f0 = mix(vec3(0.04), albedo, metallic);
    vec3 diffuse_color = albedo * (1.0 - metallic);
    float ndv = max(dot(n, v), 1e-4);

    vec3 l = u_light_dir;
    vec3 h = normalize(l + v);
    float ndl = max(dot(n, l), 0.0);
    float ndh = max(dot(n, h), 0.0);
    float vdh = max(dot(v, h), 0.0);
    float r2 = roughness * roughness;
    float a2 = r2 * r2;
    float dd = ndh * ndh * (a2 - 1.0) + 1.0;
    float d = a2 / (PI * dd * dd);
    float k = (roughness + 1.0) * (roughness + 1.0) / 8.0;
    float g = (ndv / (ndv * (1.0 - k) + k)) * (ndl / (ndl * (1.0 - k) + k));
    float m = 1.0 - vdh, m2 = m * m;
    vec3 f = f0 + (1.0 - f0) * (m2 * m2 * m);
    vec3 specular = d * g * f / max(4.0 * ndv * ndl, 1e-4);
    vec3 direct = ((1.0 - f) * diffuse_color / PI + specular) * u_light_color * ndl;

    vec3 f_amb = fresnel_schlick(ndv, f0, roughness);
    vec3 ambient = (1.0 - f_amb) * diffuse_color * max(irradiance, 0.0) / PI;
    vec3 reflection = f_amb * env_specular;
    return direct + (ambient + reflection) * ao;
}
