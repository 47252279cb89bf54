using Vocab.HttpBridge.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddVocabBridge();
var app = builder.Build();
app.UseVocabBridge();
await app.RunAsync();

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;
