using Vocab.Worker.Extensions;

var builder = Host.CreateApplicationBuilder(args);
builder.AddVocabWorker();
await builder.Build().RunAsync();
