import { initBackend, tf } from './src/tf/backend.js';
await initBackend('wasm', console.log);
await tf.setBackend('cpu'); await tf.setBackend('wasm');
function rel(a: tf.Tensor, b: tf.Tensor) { const d = tf.sub(a,b).abs().max().dataSync()[0]; const m = tf.abs(b).max().dataSync()[0]; return d/Math.max(m,1e-6); }
async function cmp(name: string, f: () => tf.Tensor) {
  await tf.setBackend('cpu'); const ref = f(); await tf.setBackend('wasm'); const t0=Date.now(); const got = f(); await got.data(); const ms=Date.now()-t0;
  console.log(name, got.shape.join('x'), ref.shape.join('x'), 'rel', rel(got, ref).toExponential(2), ms+'ms');
}
for (const [n,h,w,ci,co,k,s,p] of [[2,7,9,3,4,3,1,'same'],[1,8,8,2,5,3,2,'same'],[3,9,7,4,3,3,2,'valid'],[2,6,6,3,2,1,1,'valid'],[2,11,10,3,4,5,2,'same'], [2,10,10,3,4,3,2,'valid']] as const) {
  const x = tf.randomNormal([n,h,w,ci]) as tf.Tensor4D; const f = tf.randomNormal([k,k,ci,co]) as tf.Tensor4D; const fd = tf.randomNormal([k,k,ci,1]) as tf.Tensor4D;
  await cmp(`conv grad ${[n,h,w,ci,co,k,s,p]}`, () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p).square().sum())([x,f])[1]);
  await cmp(`conv gradx`, () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p).square().sum())([x,f])[0]);
  await cmp(`dw gradf`, () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p).square().sum())([x,fd])[1]);
  await cmp(`dw gradx`, () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p).square().sum())([x,fd])[0]);
}
process.exit(0);
for (let i=0;i<3;i++){ let t=Date.now(); const a = tf.conv2d(x,f,1,'same'); await a.data(); const t1=Date.now(); const g = tf.conv2dBackpropFilter? null:null; 
const gf = tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {strides:1,pad:'same',dataFormat:'NHWC',filterShape:[3,3,32,64]}) as tf.Tensor; await gf.data(); const t2=Date.now();
const gi = tf.engine().runKernel('Conv2DBackpropInput', {dy, filter: f}, {strides:1,pad:'same',dataFormat:'NHWC',inputShape:[64,48,48,32]}) as tf.Tensor; await gi.data(); const t3=Date.now();
console.log('fwd', t1-t, 'filtergrad', t2-t1, 'inputgrad', t3-t2); tf.dispose([a,gf,gi]); }
console.log(tf.memory().numTensors);
