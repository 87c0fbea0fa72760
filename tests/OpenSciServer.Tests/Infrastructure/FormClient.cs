using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;

namespace OpenSciServer.Tests.Infrastructure;

/// <summary>
/// Drives the dashboard's server-rendered forms the way a browser without JavaScript does: keeps
/// cookies, reads the antiforgery token from the page, posts the form fields.
/// </summary>
public sealed partial class FormClient : IDisposable
{
    private readonly PlatformFactory _platform;

    public FormClient(PlatformFactory platform, string baseAddress = "http://localhost")
    {
        _platform = platform;
        Cookies = new CookieContainer();
        Http = platform.CreateDefaultClient(new Uri(baseAddress), new CookieHandler(Cookies));
    }

    public HttpClient Http { get; }

    public CookieContainer Cookies { get; }

    /// <summary>The antiforgery token of the last page fetched.</summary>
    public string? AntiforgeryToken { get; private set; }

    public async Task<(HttpResponseMessage Response, string Html)> GetAsync(string url)
    {
        var response = await Http.GetAsync(url);
        var html = await response.Content.ReadAsStringAsync();
        var match = AntiforgeryInput().Match(html);
        if (match.Success)
        {
            AntiforgeryToken = WebUtility.HtmlDecode(match.Groups[1].Value);
        }

        return (response, html);
    }

    /// <summary>Loads the page, then submits the Blazor form named <paramref name="formName"/> with the fields given.</summary>
    public async Task<(HttpResponseMessage Response, string Html)> SubmitAsync(string url, string formName, IEnumerable<KeyValuePair<string, string>> fields, bool withAntiforgery = true)
    {
        await GetAsync(url);
        var all = new List<KeyValuePair<string, string>> { new("_handler", formName) };
        if (withAntiforgery && AntiforgeryToken is not null)
        {
            all.Add(new("__RequestVerificationToken", AntiforgeryToken));
        }

        all.AddRange(fields);
        var response = await Http.PostAsync(url, new FormUrlEncodedContent(all));
        return (response, await response.Content.ReadAsStringAsync());
    }

    public Task<(HttpResponseMessage Response, string Html)> LoginAsync(string username, string password, string url = "/login") =>
        SubmitAsync(url, "login", [new("Input.Username", username), new("Input.Password", password)]);

    public void Dispose() => Http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryInput();

    /// <summary>Stores and sends cookies, without following redirects, so tests can read Location.</summary>
    private sealed class CookieHandler(CookieContainer cookies) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var header = cookies.GetCookieHeader(request.RequestUri!);
            if (header.Length > 0)
            {
                request.Headers.Add("Cookie", header);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
            {
                foreach (var c in setCookies)
                {
                    cookies.SetCookies(request.RequestUri!, c);
                }
            }

            return response;
        }
    }
}
