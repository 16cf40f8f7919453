/**
 * diffusers tensor names generated from the module structure of diffusers' UNet2DConditionModel, AutoencoderKL and
 * transformers' CLIPTextModel(WithProjection), independently of the LDM renaming rules, for the architectures that
 * have no vendored diffusers layout (SDXL base and refiner). Resnets are generated with a conv_shortcut each; the
 * caller keeps the names whose LDM counterpart exists.
 */

export interface UnetShape {
  blocks: number;
  /** transformer depth of the attentions of each down block (0: no attention) */
  down: number[];
  up: number[];
  mid: number;
}

export const SDXL_BASE_UNET: UnetShape = { blocks: 3, down: [0, 2, 10], up: [10, 2, 0], mid: 10 };
export const SDXL_REFINER_UNET: UnetShape = { blocks: 4, down: [0, 4, 4, 0], up: [0, 4, 4, 0], mid: 4 };

const wb = (prefix: string) => [`${prefix}.weight`, `${prefix}.bias`];

function resnet(p: string): string[] {
  return ['norm1', 'conv1', 'time_emb_proj', 'norm2', 'conv2', 'conv_shortcut'].flatMap((m) => wb(`${p}.${m}`));
}

function transformer(p: string, depth: number): string[] {
  const out = [...wb(`${p}.norm`), ...wb(`${p}.proj_in`), ...wb(`${p}.proj_out`)];
  for (let k = 0; k < depth; k++) {
    const b = `${p}.transformer_blocks.${k}`;
    for (const a of ['attn1', 'attn2']) out.push(`${b}.${a}.to_q.weight`, `${b}.${a}.to_k.weight`, `${b}.${a}.to_v.weight`, ...wb(`${b}.${a}.to_out.0`));
    out.push(...wb(`${b}.ff.net.0.proj`), ...wb(`${b}.ff.net.2`), ...wb(`${b}.norm1`), ...wb(`${b}.norm2`), ...wb(`${b}.norm3`));
  }
  return out;
}

export function unetNames(s: UnetShape, sdxl: boolean): string[] {
  const out = [...wb('conv_in'), ...wb('time_embedding.linear_1'), ...wb('time_embedding.linear_2'), ...wb('conv_norm_out'), ...wb('conv_out')];
  if (sdxl) out.push(...wb('add_embedding.linear_1'), ...wb('add_embedding.linear_2'));
  for (let i = 0; i < s.blocks; i++) {
    for (let j = 0; j < 2; j++) {
      out.push(...resnet(`down_blocks.${i}.resnets.${j}`));
      if (s.down[i]) out.push(...transformer(`down_blocks.${i}.attentions.${j}`, s.down[i]!));
    }
    if (i < s.blocks - 1) out.push(...wb(`down_blocks.${i}.downsamplers.0.conv`));
    for (let j = 0; j < 3; j++) {
      out.push(...resnet(`up_blocks.${i}.resnets.${j}`));
      if (s.up[i]) out.push(...transformer(`up_blocks.${i}.attentions.${j}`, s.up[i]!));
    }
    if (i < s.blocks - 1) out.push(...wb(`up_blocks.${i}.upsamplers.0.conv`));
  }
  out.push(...resnet('mid_block.resnets.0'), ...resnet('mid_block.resnets.1'), ...transformer('mid_block.attentions.0', s.mid));
  return out;
}

export function clipTextNames(layers: number, projection: boolean): string[] {
  const out = ['text_model.embeddings.token_embedding.weight', 'text_model.embeddings.position_embedding.weight', 'text_model.embeddings.position_ids'];
  for (let n = 0; n < layers; n++) {
    const p = `text_model.encoder.layers.${n}`;
    for (const m of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.out_proj', 'layer_norm1', 'layer_norm2', 'mlp.fc1', 'mlp.fc2']) out.push(...wb(`${p}.${m}`));
  }
  out.push(...wb('text_model.final_layer_norm'));
  if (projection) out.push('text_projection.weight');
  return out;
}

export function vaeNames(): string[] {
  const out = [...wb('quant_conv'), ...wb('post_quant_conv')];
  for (const part of ['encoder', 'decoder']) {
    out.push(...wb(`${part}.conv_in`), ...wb(`${part}.conv_out`), ...wb(`${part}.conv_norm_out`));
    for (let j = 0; j < 2; j++) out.push(...['norm1', 'conv1', 'norm2', 'conv2', 'conv_shortcut'].flatMap((m) => wb(`${part}.mid_block.resnets.${j}.${m}`)));
    for (const m of ['group_norm', 'to_q', 'to_k', 'to_v', 'to_out.0']) out.push(...wb(`${part}.mid_block.attentions.0.${m}`));
  }
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) out.push(...['norm1', 'conv1', 'norm2', 'conv2', 'conv_shortcut'].flatMap((m) => wb(`encoder.down_blocks.${i}.resnets.${j}.${m}`)));
    if (i < 3) out.push(...wb(`encoder.down_blocks.${i}.downsamplers.0.conv`));
    for (let j = 0; j < 3; j++) out.push(...['norm1', 'conv1', 'norm2', 'conv2', 'conv_shortcut'].flatMap((m) => wb(`decoder.up_blocks.${i}.resnets.${j}.${m}`)));
    if (i < 3) out.push(...wb(`decoder.up_blocks.${i}.upsamplers.0.conv`));
  }
  return out;
}
