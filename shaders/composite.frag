#version 330 core
// Premultiplied "over": camera frame under the rendered items, pixel for pixel.
uniform sampler2D u_frame;   // camera frame as uploaded: channels B, G, R
uniform sampler2D u_items;   // premultiplied sRGB RGBA, same size
uniform bool u_mirror;       // kiosk view: flip horizontally

layout(location = 0) out vec4 out_color;   // B, G, R, coverage

void main() {
    ivec2 size = textureSize(u_frame, 0);
    ivec2 p = ivec2(gl_FragCoord.xy);
    if (u_mirror) p.x = size.x - 1 - p.x;
    vec3 frame_rgb = texelFetch(u_frame, p, 0).bgr;
    vec4 item = texelFetch(u_items, p, 0);
    vec3 rgb = frame_rgb * (1.0 - item.a) + item.rgb;
    out_color = vec4(rgb.bgr, item.a);
}
