using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Vocab.Tests.Infrastructure;

/// <summary>Debian's chromium, driven headless through Debian's chromium-driver (scripts/services.sh installs both).</summary>
public sealed class HeadlessChromium : IDisposable
{
    private const string Browser = "/usr/bin/chromium";
    private const string DriverDirectory = "/usr/bin";
    private const string Driver = "chromedriver";

    public HeadlessChromium()
    {
        if (!File.Exists(Browser) || !File.Exists(Path.Combine(DriverDirectory, Driver)))
            throw new InvalidOperationException("chromium and chromium-driver are not installed: run scripts/services.sh up");
        var options = new ChromeOptions { BinaryLocation = Browser };
        // The console's certificate is the local CA's, which this throwaway profile does not know.
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors", "--window-size=1280,1000");
        var service = ChromeDriverService.CreateDefaultService(DriverDirectory, Driver);
        service.HideCommandPromptWindow = true;
        Driver_ = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    private ChromeDriver Driver_ { get; }

    public IWebDriver Web => Driver_;

    public void Open(Uri address) => Driver_.Navigate().GoToUrl(address);

    public IWebElement Find(string css) => Driver_.FindElement(By.CssSelector(css));

    /// <summary>Reloads <paramref name="address"/> until <paramref name="css"/> appears (the ingestor works in the background).</summary>
    public IWebElement WaitFor(Uri address, string css, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Open(address);
            var found = Driver_.FindElements(By.CssSelector(css));
            if (found.Count > 0)
                return found[0];
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{css} did not appear on {address}; page: {Driver_.PageSource[..Math.Min(2000, Driver_.PageSource.Length)]}");
            Thread.Sleep(300);
        }
    }

    /// <summary>Waits for an element on the current page (after a submit).</summary>
    public IWebElement Await(string css) =>
        new WebDriverWait(Driver_, TimeSpan.FromSeconds(60)).Until(d => d.FindElements(By.CssSelector(css)).FirstOrDefault());

    /// <summary>
    /// A screenshot of the current page: under .services/screenshots/, or under docs/ops/ with
    /// <c>VOCAB_UPDATE_SCREENSHOTS=1</c>, so a test run leaves the tracked pictures as they are unless asked to renew them.
    /// </summary>
    public void Screenshot(string name)
    {
        var folder = Environment.GetEnvironmentVariable("VOCAB_UPDATE_SCREENSHOTS") == "1" ? "docs/ops" : ".services/screenshots";
        var path = Vocab.TestSupport.RepositoryFiles.PathOf($"{folder}/{name}.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Driver_.GetScreenshot().SaveAsFile(path);
    }

    public void Dispose() => Driver_.Quit();
}
