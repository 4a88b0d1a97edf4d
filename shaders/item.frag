#version 330 core
#include "lighting.glsl"

in vec3 v_position;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_model;
in vec3 v_model_normal;
in float v_ao;
in float v_fold_phase;
in float v_wrinkle;
in vec3 v_irradiance_front;
in vec3 v_irradiance_back;
in vec3 v_sh_reflect;

// The optional parts are #defines (tryon.render.renderer.FEATURES), set per draw: a software
// rasterizer runs every branch of a shader, taken or not, so what a draw does not use is left out.
uniform vec4 u_base_color;          // linear RGB and alpha
uniform sampler2D u_base_texture;   // an sRGB texture (read linear), glTF uv convention (v = 0 at the image top)
uniform float u_metallic;
uniform float u_roughness;
uniform float u_opacity;            // fades the item in and out
uniform sampler2D u_masks;          // person segmentation (red), hands and hair in front of
                                    // clothes (green), RG8, row 0 = image top
uniform vec2 u_viewport;            // framebuffer size in px
uniform float u_env_strength;
uniform sampler2D u_env;            // the surroundings for reflections (an sRGB texture, read linear; mipmapped), see Lighting
uniform float u_env_gain;           // brings the picture to the SH's mean level
uniform float u_env_max_lod;
uniform bool u_use_ao;              // the baked per-vertex occlusion
uniform sampler2D u_relief;         // the fabric's height map (R8, tiled, mipmapped), 0.5 = mean
uniform float u_tile_m;             // what one tile spans, metres
uniform float u_relief_m;           // its depth, metres
uniform float u_wrinkle_m;          // the folds' depth at full bend, metres
uniform vec3 u_sheen_color;         // KHR_materials_sheen, linear; zero: no sheen lobe
uniform float u_sheen_roughness;
uniform sampler2D u_normal_map;     // the file's tangent-space normal map (uv)
uniform float u_normal_scale;
uniform sampler2D u_occlusion_map;  // the file's occlusion (red)
uniform sampler2D u_roughness_map;  // the file's metallic-roughness map (roughness in green)
uniform float u_roughness_map_gain; // 1 / the map's mean (the factor already holds its mean)

layout(location = 0) out vec4 out_color;   // premultiplied, sRGB-encoded, B G R A (OpenCV order)

void main() {
    vec4 base = u_base_color;
#ifdef HAS_TEXTURE
    vec4 t = texture(u_base_texture, v_uv);
    base *= t;  // (an sRGB texture: the sampler decodes it, far cheaper than the curve's pow)
#endif
    vec3 n = normalize(v_normal);
    float ao = u_use_ao ? v_ao : 1.0;
    vec3 irradiance = v_irradiance_front;
    vec3 env = v_sh_reflect;
#ifndef SINGLE_SIDED  // (a single-sided surface is culled behind: never seen from there)
    if (!gl_FrontFacing) {   // the inside of a sleeve or collar: darker
        n = -n;
        ao *= 0.45;
        irradiance = v_irradiance_back;
    }
#endif
    float roughness = u_roughness;
    // Surface relief in metres: the fabric's weave (triplanar in model space) and the folds of
    // a bent joint, turned into a normal by screen-space derivatives (Mikkelsen 2010).
    float height = 0.0;
#ifdef RELIEF
    {
        // One fetch (a software rasterizer pays per fetch): the plane the surface faces most.
        vec3 w = abs(v_model_normal);
        vec3 p = v_model / u_tile_m;
        vec2 tc = w.x > max(w.y, w.z) ? p.zy : (w.y > w.z ? p.xz : p.xy);
        float t = texture(u_relief, tc).r;
        height = (t - 0.5) * 2.0 * u_relief_m;
        roughness = clamp(roughness * (1.0 + 0.3 * (0.5 - t)), 0.04, 1.0);
    }
#endif
#ifdef WRINKLES
    if (v_wrinkle > 0.01) {
        float crease = 1.0 - abs(sin(3.14159265 * v_fold_phase));
        height += v_wrinkle * u_wrinkle_m * (crease * crease - 0.5);
    }
#endif
#if defined(RELIEF) || defined(WRINKLES) || defined(NORMAL_MAP)
    // (derivatives outside any branch that varies between pixels)
    vec3 dpdx = dFdx(v_position);
    vec3 dpdy = dFdy(v_position);
    float dhdx = dFdx(height);
    float dhdy = dFdy(height);
    vec3 r1 = cross(dpdy, n);
    vec3 r2 = cross(n, dpdx);
    float det = dot(dpdx, r1);
    if (abs(det) > 1e-14) {
        // tilt capped near 20 degrees: a derivative taken across a triangle edge can spike
        vec3 grad = sign(det) * (dhdx * r1 + dhdy * r2);
        grad *= min(1.0, 0.35 * abs(det) / max(length(grad), 1e-30));
        n = normalize(abs(det) * n - grad);
    }
#endif
#ifdef NORMAL_MAP
    {  // the file's own, in the tangent frame its uvs span (Schüler 2013)
        vec2 duv1 = dFdx(v_uv);
        vec2 duv2 = dFdy(v_uv);
        vec3 dp2perp = cross(dpdy, n);
        vec3 dp1perp = cross(n, dpdx);
        vec3 T = dp2perp * duv1.x + dp1perp * duv2.x;
        vec3 B = dp2perp * duv1.y + dp1perp * duv2.y;
        float invmax = inversesqrt(max(max(dot(T, T), dot(B, B)), 1e-20));
        vec3 tn = texture(u_normal_map, v_uv).xyz * 2.0 - 1.0;
        tn.xy *= u_normal_scale;
        tn.y = -tn.y;  // glTF's v runs down the image; its normal maps' green points up it
        n = normalize(mat3(T * invmax, B * invmax, n) * tn);
    }
#endif
#ifdef OCCLUSION_MAP
    ao *= texture(u_occlusion_map, v_uv).r;
#endif
#ifdef ROUGHNESS_MAP
    roughness = clamp(roughness * texture(u_roughness_map, v_uv).g * u_roughness_map_gain, 0.04, 1.0);
#endif
    vec3 v = normalize(-v_position);
    vec3 r = reflect(-v, n);
    env = max(env, 0.0) / PI;
#ifdef ENV
    {
        // Sharp for polished metal, blurred (a higher mip level) as the surface roughens.
        vec2 env_uv = clamp(0.5 + 0.5 * r.xy, 0.0, 1.0);
        vec3 room = textureLod(u_env, env_uv, roughness * u_env_max_lod).rgb * u_env_gain;
        // The frame shows what is behind the shopper, not what the jewelry faces: its
        // brightness pattern gives the sparkle, but only part of its colour is kept (a blue
        // backdrop would otherwise turn gold green).
        room = mix(vec3(dot(room, vec3(0.2126, 0.7152, 0.0722))), room, 0.35);
        env = mix(env, room, 0.8);
    }
#endif
    env *= u_env_strength;
    vec3 color = shade(base.rgb, n, v, u_metallic, roughness, ao, env, irradiance);
#ifdef SHEEN
    {
        float scale = 1.0 - max(u_sheen_color.r, max(u_sheen_color.g, u_sheen_color.b)) * sheen_albedo(max(dot(n, v), 1e-4));
        color = color * scale + sheen(u_sheen_color, u_sheen_roughness, n, v, irradiance * ao);
    }
#endif
    float a = base.a * u_opacity;
#if defined(CLIP_TO_PERSON) || defined(KEEPOUT)
    vec2 masks = texture(u_masks, gl_FragCoord.xy / u_viewport).rg;
#endif
#ifdef CLIP_TO_PERSON
    a *= masks.r;
#endif
#ifdef KEEPOUT
    a *= 1.0 - masks.g;
#endif
    out_color = vec4(linear_to_srgb(color).bgr * a, a);
}
