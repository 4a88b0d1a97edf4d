#version 330 core
#include "lighting.glsl"

in vec3 v_position;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_irradiance_front;
in vec3 v_irradiance_back;
in vec3 v_sh_reflect_front;
in vec3 v_sh_reflect_back;

uniform vec4 u_base_color;          // linear RGB and alpha
uniform bool u_has_texture;
uniform sampler2D u_base_texture;   // sRGB, glTF uv convention (v = 0 at the image top)
uniform float u_metallic;
uniform float u_roughness;
uniform float u_opacity;            // fades the item in and out
uniform bool u_clip_to_person;
uniform sampler2D u_person_mask;    // person segmentation (R8), row 0 = image top
uniform bool u_use_keepout;
uniform sampler2D u_keepout;        // hands and hair in front of clothes (R8), row 0 = image top
uniform vec2 u_viewport;            // framebuffer size in px
uniform float u_env_strength;
uniform bool u_has_env;
uniform sampler2D u_env;            // the surroundings for reflections (sRGB, mipmapped), see Lighting
uniform float u_env_gain;           // brings the picture to the SH's mean level
uniform float u_env_max_lod;

layout(location = 0) out vec4 out_color;   // premultiplied, sRGB-encoded, B G R A (OpenCV order)

void main() {
    vec4 base = u_base_color;
    if (u_has_texture) {
        vec4 t = texture(u_base_texture, v_uv);
        base *= vec4(srgb_to_linear(t.rgb), t.a);
    }
    vec3 n = normalize(v_normal);
    float ao = 1.0;
    vec3 irradiance = v_irradiance_front;
    vec3 env = v_sh_reflect_front;
    if (!gl_FrontFacing) {   // the inside of a sleeve or collar: darker
        n = -n;
        ao = 0.45;
        irradiance = v_irradiance_back;
        env = v_sh_reflect_back;
    }
    vec3 v = normalize(-v_position);
    vec3 r = reflect(-v, n);
    env = max(env, 0.0) / PI;
    if (u_has_env) {
        // Sharp for polished metal, blurred (a higher mip level) as the surface roughens.
        vec2 env_uv = clamp(0.5 + 0.5 * r.xy, 0.0, 1.0);
        vec3 room = srgb_to_linear(textureLod(u_env, env_uv, u_roughness * u_env_max_lod).rgb) * u_env_gain;
        // The frame shows what is behind the shopper, not what the jewelry faces: its
        // brightness pattern gives the sparkle, but only part of its colour is kept (a blue
        // backdrop would otherwise turn gold green).
        room = mix(vec3(dot(room, vec3(0.2126, 0.7152, 0.0722))), room, 0.35);
        env = mix(env, room, 0.8);
    }
    env *= u_env_strength;
    vec3 color = shade(base.rgb, n, v, u_metallic, u_roughness, ao, env, irradiance);
    float a = base.a * u_opacity;
    vec2 uv_frame = gl_FragCoord.xy / u_viewport;
    if (u_clip_to_person) {
        a *= texture(u_person_mask, uv_frame).r;
    }
    if (u_use_keepout) {
        a *= 1.0 - texture(u_keepout, uv_frame).r;
    }
    out_color = vec4(linear_to_srgb(color).bgr * a, a);
}
