using Vocab.Ops.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddVocabOps();
var app = builder.Build();
app.UseVocabOps();
await app.RunAsync();
