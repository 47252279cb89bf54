using Vocab.Admin;

return await VocabCtl.RunAsync(args, Console.Out, Console.Error, Console.In);
