import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/auth.types.js';

/** The front door until the staff screens arrive: where the API and its documentation are. */
@ApiExcludeController()
@Controller()
export class RootController {
  @Get()
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  index(): string {
    return `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>個人番号カード交付 進捗管理システム</title></head>
<body style="font-family: 'Noto Sans JP', sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.7; color: #1a1a1a">
<h1 style="font-size: 1.5rem">個人番号カード交付 進捗管理システム</h1>
<p>職員向け画面は準備中です。現在は API をご利用ください。</p>
<ul>
<li><a href="/api/docs">API ドキュメント（OpenAPI）</a></li>
<li><a href="/api/health">稼働状況</a></li>
</ul>
</body></html>`;
  }
}
