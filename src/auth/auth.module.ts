import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard.js';
import { AuthService } from './auth.service.js';
import { LoginController } from './login.controller.js';
import { ThrottleService } from './throttle.service.js';
import { UsersRepository } from './users.repository.js';
import { WebAuthRepository } from './web-auth.repository.js';
import { WebAuthService } from './web-auth.service.js';

@Module({
  controllers: [LoginController],
  providers: [UsersRepository, AuthService, WebAuthRepository, WebAuthService, ThrottleService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService, WebAuthService, UsersRepository, ThrottleService],
})
export class AuthModule {}
