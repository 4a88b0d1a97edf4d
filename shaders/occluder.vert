#version 330 core
// The posed body, drawn into depth only, pulled in along its normals so garments that lie
// on the skin do not fight it for depth.
layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;

uniform mat4 u_projection;
uniform float u_inset_m;

void main() {
    gl_Position = u_projection * vec4(in_position - normalize(in_normal) * u_inset_m, 1.0);
}
