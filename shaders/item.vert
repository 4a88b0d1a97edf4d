#version 330 core
#include "lighting.glsl"
// Items arrive already deformed (skinned or rigidly attached) in camera metres.
layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec2 in_uv;

uniform mat4 u_projection;     // camera metres -> clip (tryon.frames.gl_projection)
uniform float u_depth_bias_m;  // drawn this much nearer the camera along its pixel's ray (layering)

out vec3 v_position;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_irradiance_front;   // SH irradiance at the normal, and at its reverse (back faces)
out vec3 v_irradiance_back;
out vec3 v_sh_reflect_front;   // SH radiance-ish along the reflection direction, both sides
out vec3 v_sh_reflect_back;

void main() {
    v_position = in_position;
    v_normal = in_normal;
    v_uv = in_uv;
    vec3 n = normalize(in_normal);
    vec3 v = normalize(-in_position);
    v_irradiance_front = sh_irradiance(n);
    v_irradiance_back = sh_irradiance(-n);
    v_sh_reflect_front = sh_irradiance(reflect(-v, n));
    v_sh_reflect_back = sh_irradiance(reflect(-v, -n));
    float d = length(in_position);
    gl_Position = u_projection * vec4(in_position * max(d - u_depth_bias_m, 0.5 * d) / max(d, 1e-6), 1.0);
}
