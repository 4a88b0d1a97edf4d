#version 330 core
#include "lighting.glsl"
// Items arrive already deformed (skinned or rigidly attached) in camera metres.
layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec2 in_uv;
layout(location = 3) in vec3 in_model;        // bind-pose model metres (fabric relief, wrinkles)
layout(location = 4) in vec3 in_model_normal; // bind-pose normal (triplanar weights)
layout(location = 5) in float in_ao;          // baked ambient occlusion
layout(location = 6) in vec3 in_axis;         // model-space direction across the folds
layout(location = 7) in float in_wrinkle;     // this frame's fold strength

uniform mat4 u_projection;     // camera metres -> clip (tryon.frames.gl_projection)
uniform float u_depth_bias_m;  // drawn this much nearer the camera along its pixel's ray (layering)
uniform float u_fold_period_m; // wrinkles' spacing

out vec3 v_position;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_model;
out vec3 v_model_normal;
out float v_ao;
out float v_fold_phase;       // position along the folds' axis, in fold periods
out float v_wrinkle;
out vec3 v_irradiance_front;   // SH irradiance at the normal, and at its reverse (back faces)
out vec3 v_irradiance_back;
out vec3 v_sh_reflect;         // SH radiance-ish along the reflection direction (the same
                               // from both sides: reflect(-v, -n) = reflect(-v, n))

void main() {
    v_position = in_position;
    v_normal = in_normal;
    v_uv = in_uv;
    v_model = in_model;
    v_model_normal = in_model_normal;
    v_ao = in_ao;
    v_wrinkle = in_wrinkle;
    // Folds run around the limb: a phase along its axis, wobbled so they are not rings.
    v_fold_phase = dot(in_model, in_axis) / u_fold_period_m + 0.35 * sin(dot(in_model, vec3(31.0, 23.0, 37.0)));
    vec3 n = normalize(in_normal);
    vec3 v = normalize(-in_position);
    // (E(-n) from the same two parts: no second SH sum for the back side)
    vec3 even, odd;
    sh_irradiance_parts(n, even, odd);
    v_irradiance_front = even + odd;
#ifndef SINGLE_SIDED  // (culled behind: no back side to light)
    v_irradiance_back = even - odd;
#endif
    v_sh_reflect = sh_irradiance(reflect(-v, n));
    float d = length(in_position);
    gl_Position = u_projection * vec4(in_position * max(d - u_depth_bias_m, 0.5 * d) / max(d, 1e-6), 1.0);
}
